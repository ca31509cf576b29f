"""检举控告: an accusation is never shown to the unit it accuses, nor to anyone inside that unit."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, true

from vreception.auth.access import Principal
from vreception.models import Matter


def _inside(principal: Principal) -> list[str]:
    # Every ancestor path of every scope: the matter's hidden path is among them exactly when a scope lies within it.
    out: set[str] = set()
    for scope in principal.scopes:
        parts = [p for p in scope.path.split("/") if p]
        out.update("/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1))
    return sorted(out)


def accused_unit_excluded(principal: Principal, matter: Matter) -> bool:
    """Whether the principal works inside the unit an accusation accuses (then it may not read the matter)."""
    hidden = matter.hidden_from_path
    return bool(hidden) and any(s.path.startswith(hidden or "") for s in principal.scopes)


def not_accused(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on Matter: the matters not hidden from the principal (same rule as accused_unit_excluded)."""
    inside = _inside(principal)
    if not inside:
        return true()
    return or_(Matter.hidden_from_path.is_(None), Matter.hidden_from_path.not_in(inside))
