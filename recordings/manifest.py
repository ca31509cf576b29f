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


# A gap's reason when the media worker holding the call was lost and another one took the recording over.
WORKER_LOST = "worker_lost"


def _seconds(gap: dict[str, Any]) -> float:
    start = datetime.fromisoformat(gap["start"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(gap["end"].replace("Z", "+00:00"))
    return round(max(0.0, (end - start).total_seconds()), 3)


def missing(document: dict[str, Any], reasons: tuple[str, ...] | None = None) -> list[str]:
    """What the manifest DOCUMENT says is missing, one line per gap (of REASONS only, when given), in time order."""
    return [f"gap {gap['reason']}: participant {gap['participant_id']} ({gap.get('source') or 'camera'}"
            f"{', ' + gap['kind'] if gap.get('kind') else ''}) {gap['start']} to {gap['end']}, {_seconds(gap)} s"
            for gap in document.get("gaps", []) if reasons is None or gap["reason"] in reasons]
