"""The one vocabulary of participant roles in a session, shared by booking, the call server and the pages."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["leader", "room", "petitioner", "representative", "agent", "interpreter", "coordinator", "chair",
               "recorder", "hearing_member", "handler", "observer"]
ROLES: tuple[str, ...] = get_args(Role)
# The leader and every room of a booking are seated by the booking itself; the others are named in it.
NAMED_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r not in ("leader", "room"))
# Who runs the lobby: admits, keeps waiting, ends. A chair moderates a hearing.
MODERATORS: frozenset[str] = frozenset({"leader", "coordinator", "chair"})
# Who the session waits for: their arrival opens it, and nobody of them coming makes it a no-show.
PETITIONER_SIDE: frozenset[str] = frozenset({"room", "petitioner", "representative", "agent"})
