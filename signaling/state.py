"""Shared room state: a versioned JSON blob per session with compare-and-set, and its in-process form."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import NamedTuple

from signaling.events import Transition
from signaling.rooms import Room

DEFAULT_ATTEMPTS = 20


class Versioned(NamedTuple):
    """A stored value (None when absent) and its version (0 when absent)."""

    value: str | None
    version: int


class StateConflict(Exception):
    """Too many concurrent writers: the compare-and-set kept losing."""


def room_key(session_id: int) -> str:
    """The store key of one session's room."""
    return f"room:{session_id}"


class StateStore(ABC):
    """Versioned text values shared by every server process."""

    @abstractmethod
    async def get(self, key: str) -> Versioned:
        """The value under KEY and its version."""

    @abstractmethod
    async def compare_and_set(self, key: str, expected_version: int, value: str) -> bool:
        """Store VALUE if KEY is still at EXPECTED_VERSION (0: absent); False if someone wrote first."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Forget KEY."""

    async def close(self) -> None:  # noqa: B027  (optional hook: a store without connections keeps this no-op)
        """Release connections."""


class MemoryStateStore(StateStore):
    """The store inside one process (the embedded default)."""

    def __init__(self) -> None:
        self._values: dict[str, Versioned] = {}

    async def get(self, key: str) -> Versioned:
        return self._values.get(key, Versioned(None, 0))

    async def compare_and_set(self, key: str, expected_version: int, value: str) -> bool:
        # No await between the check and the write: atomic within the event loop.
        current = self._values.get(key, Versioned(None, 0))
        if current.version != expected_version:
            return False
        self._values[key] = Versioned(value, current.version + 1)
        return True

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)


async def update_room(
    store: StateStore,
    session_id: int,
    step: Callable[[Room], Transition],
    *,
    initial: Callable[[], Room],
    attempts: int = DEFAULT_ATTEMPTS,
) -> Transition:
    """Run STEP on the stored room (INITIAL() if none) and store its result, retrying on conflict."""
    # STEP may run several times, so it must be pure; its ProtocolError propagates and nothing is stored.
    key = room_key(session_id)
    for _ in range(attempts):
        current = await store.get(key)
        room = Room.from_json(current.value) if current.value is not None else initial()
        transition = step(room)
        if not transition.changed:
            return transition
        if await store.compare_and_set(key, current.version, transition.room.to_json()):
            return transition
    raise StateConflict(f"room of session {session_id}: {attempts} conflicting writes in a row")
