"""The classification list of demands, and which categories belong to a legal channel (诉访分离)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from vreception.errors import Invalid

DEFAULT_FILE = Path(__file__).with_name("categories.json")
LEGAL_CHANNELS = ("litigation", "arbitration", "administrative_review")


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    legal_channel: str | None


@lru_cache
def load(path: str | None = None) -> dict[str, Category]:
    """The categories from PATH (a JSON list) or the built-in list."""
    rows = json.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
    out = {}
    for row in rows:
        channel = row.get("legal_channel")
        if channel is not None and channel not in LEGAL_CHANNELS:
            raise ValueError(f"category {row['code']}: unknown legal channel {channel}")
        out[row["code"]] = Category(row["code"], row["name"], channel)
    return out


def get(code: str, path: str | None = None, field: str = "category") -> Category:
    """The category CODE, or Invalid naming the field."""
    category = load(path).get(code)
    if category is None:
        raise Invalid("error.category_unknown", field=field, category=code)
    return category
