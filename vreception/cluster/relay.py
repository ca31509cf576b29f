"""What fronts and media workers say to each other over the bus: one command channel per worker."""

from __future__ import annotations

from typing import Any, Literal

# What a front asks of the worker holding a session (and what a worker asks of the adopter of a lost session).
Op = Literal["signal", "leave", "share_screen", "stop_screen", "media_state", "record", "release", "end", "adopt"]
OPS: frozenset[str] = frozenset(Op.__args__)  # type: ignore[attr-defined]


def worker_channel(worker_id: str) -> str:
    """The bus channel a worker takes its commands from."""
    return f"worker:{worker_id}"


def command(op: Op, session_id: int, **fields: Any) -> dict[str, Any]:
    """A command for the worker holding SESSION_ID (JSON-ready)."""
    return {"op": op, "session_id": session_id, **fields}


def direct(participant_id: int, text: str) -> dict[str, Any]:
    """An envelope for a session's channel carrying one participant's message, already serialised by the worker
    (the worker's own SDP is not held to the client-side size limit, so it is not parsed again on the way)."""
    return {"to": [participant_id], "connection": None, "direct": text}
