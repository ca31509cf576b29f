"""What a public gallery viewer (旁听) may see of the room: roles, never names."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from signaling.messages import ParticipantView, State


def for_gallery(state: State, labels: Mapping[str, str]) -> State:
    """STATE with every name replaced by its role's label (LABELS: role → label), numbered when a role repeats."""
    counts = Counter(p.role for p in state.participants)
    seen: Counter[str] = Counter()
    views: list[ParticipantView] = []
    for p in state.participants:
        seen[p.role] += 1
        label = labels.get(p.role, p.role)
        name = f"{label}{seen[p.role]}" if counts[p.role] > 1 else label
        views.append(p.model_copy(update={"name": name}))
    return state.model_copy(update={"participants": views})
