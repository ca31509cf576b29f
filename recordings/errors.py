"""Typed errors of recordings (catalog keys error.<code>)."""

from __future__ import annotations

from vreception.errors import Conflict


class RecordingRetained(Conflict):
    """The recording belongs to a matter that is still open (or within its retention): it may not be purged."""

    code = "recording_retained"


class RecordingState(Conflict):
    """The recording is not in a state that allows this (finalising twice, purging a live one …)."""

    code = "recording_state"
