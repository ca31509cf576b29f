"""An append-only JSON-lines journal beside the live segments, so a crash loses no bookkeeping."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

JOURNAL_KEY = "journal.jsonl"


class Journal:
    """Events of one recording (segment opened/closed, gaps), each line flushed at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(path, "a", encoding="utf-8")
        self._lock = threading.Lock()  # the writer and the uploader thread both append

    def write(self, event: str, **fields: Any) -> None:
        """Append one event line."""
        line = json.dumps({"event": event, **fields}, sort_keys=True, ensure_ascii=False) + "\n"
        with self._lock:
            if not self._handle.closed:
                self._handle.write(line)
                self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._handle.close()


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete event line of the journal at PATH (a torn last line is skipped)."""
    if not path.exists():
        return []
    events: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            logger.warning("skipping a torn journal line in %s", path)
    return events
