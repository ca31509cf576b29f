"""The manifest of a recording: every segment and gap with its hash, as canonical JSON."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

FORMAT = "vreception-recording-manifest/1"


def canonical(document: dict[str, Any]) -> bytes:
    """The one byte form of DOCUMENT that is hashed: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of DATA."""
    return hashlib.sha256(data).hexdigest()


def instant(value: datetime | float) -> str:
    """A UTC instant as ISO 8601 with milliseconds and Z."""
    if not isinstance(value, datetime):
        value = datetime.fromtimestamp(value, UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build(*, recording_id: int, session_id: int, started_at: datetime | float, ended_at: datetime | float,
          segments: list[dict[str, Any]], gaps: list[dict[str, Any]],
          media: dict[str, Any] | None, events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The manifest document (segments sorted by index, gaps by start; call events such as evidence shown, by
    offset into the recording)."""
    return {
        "format": FORMAT,
        "recording_id": recording_id,
        "session_id": session_id,
        "started_at": instant(started_at),
        "ended_at": instant(ended_at),
        "segments": sorted(segments, key=lambda s: s["index"]),
        "gaps": sorted(gaps, key=lambda g: (g["start"], str(g["participant_id"]))),
        "media": media,
        "events": sorted(events or [], key=lambda e: (e["offset_s"], e["seq"])),
    }
