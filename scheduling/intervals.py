"""Arithmetic on sorted lists of half-open time intervals [start, end)."""

from __future__ import annotations

from datetime import datetime

Interval = tuple[datetime, datetime]


def normalise(items: list[Interval]) -> list[Interval]:
    """Sorted, non-empty, merged intervals."""
    out: list[Interval] = []
    for start, end in sorted(i for i in items if i[0] < i[1]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(items: list[Interval], holes: list[Interval]) -> list[Interval]:
    """ITEMS with every part covered by HOLES removed."""
    out: list[Interval] = []
    holes = normalise(holes)
    for start, end in normalise(items):
        for h_start, h_end in holes:
            if h_end <= start or h_start >= end:
                continue
            if h_start > start:
                out.append((start, h_start))
            start = max(start, h_end)
            if start >= end:
                break
        if start < end:
            out.append((start, end))
    return out


def covers(items: list[Interval], start: datetime, end: datetime) -> bool:
    """Whether one interval of the (normalised) ITEMS holds all of [START, END)."""
    return any(s <= start and end <= e for s, e in items)
