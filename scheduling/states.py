"""The session states that share a rule: which ones a participant may join, which ones end a session (会话状态)."""

from __future__ import annotations

from vreception.models.scheduling import SessionState

JOINABLE: frozenset[SessionState] = frozenset({SessionState.booked, SessionState.open, SessionState.live})
ENDING: frozenset[SessionState] = frozenset({SessionState.ended, SessionState.no_show, SessionState.cancelled})
