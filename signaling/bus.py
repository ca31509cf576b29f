"""The message bus that fans signaling out between server processes, and its in-process form."""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any


def session_channel(session_id: int) -> str:
    """The bus channel carrying the sends of one session."""
    return f"session:{session_id}"


class Subscription(ABC):
    """Messages published on one channel once entered: `async with bus.subscribe(ch) as sub: async for m in sub`."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    async def __aenter__(self) -> Subscription:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        message = await self.get()
        if message is None:
            raise StopAsyncIteration
        return message

    @abstractmethod
    async def open(self) -> None:
        """Start receiving; messages published after this returns are delivered."""

    @abstractmethod
    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next message; None once closed; TimeoutError after TIMEOUT seconds."""

    @abstractmethod
    async def close(self) -> None:
        """Stop receiving."""


class Bus(ABC):
    """Publish JSON-ready dicts on named channels; every subscriber of the channel, in any process, gets each."""

    @abstractmethod
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send MESSAGE to the current subscribers of CHANNEL."""

    @abstractmethod
    def subscribe(self, channel: str) -> Subscription:
        """A subscription to CHANNEL (active once entered or opened)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; open subscriptions end."""


async def listen(
    bus: Bus,
    channel: str,
    callback: Callable[[dict[str, Any]], Awaitable[None] | None],
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Call CALLBACK with every message on CHANNEL until cancelled or the bus closes; READY is set once subscribed."""
    async with bus.subscribe(channel) as subscription:
        if ready is not None:
            ready.set()
        async for message in subscription:
            result = callback(message)
            if inspect.isawaitable(result):
                await result


class _Closed(enum.Enum):
    """The end-of-subscription marker put on a queue."""

    CLOSED = enum.auto()


_CLOSED = _Closed.CLOSED


class MemorySubscription(Subscription):
    """A subscription to a MemoryBus channel."""

    def __init__(self, bus: MemoryBus, channel: str) -> None:
        super().__init__(channel)
        self._bus = bus
        self._queue: asyncio.Queue[dict[str, Any] | _Closed] = asyncio.Queue()
        self._closed = False

    async def open(self) -> None:
        if self._bus.closed:
            raise RuntimeError("bus is closed")
        self._bus._subscribers.setdefault(self.channel, set()).add(self._queue)

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        if self._closed and self._queue.empty():
            return None
        item = await asyncio.wait_for(self._queue.get(), timeout)
        if item is _CLOSED:
            self._closed = True
            return None
        return item

    async def close(self) -> None:
        self._bus._forget(self.channel, self._queue)
        if not self._closed:
            self._queue.put_nowait(_CLOSED)


class MemoryBus(Bus):
    """The bus inside one process (the embedded default): asyncio queues, same JSON round trip as Redis."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any] | _Closed]]] = {}
        self.closed = False

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        if self.closed:
            raise RuntimeError("bus is closed")
        # Serialise like Redis would, so a message that only works in-process fails here too.
        text = json.dumps(message)
        for queue in list(self._subscribers.get(channel, ())):
            queue.put_nowait(json.loads(text))

    def subscribe(self, channel: str) -> Subscription:
        return MemorySubscription(self, channel)

    def _forget(self, channel: str, queue: asyncio.Queue[Any]) -> None:
        queues = self._subscribers.get(channel)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[channel]

    async def close(self) -> None:
        self.closed = True
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(_CLOSED)
        self._subscribers.clear()
