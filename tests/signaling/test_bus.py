"""The in-process bus and state store, and update_room's compare-and-set retries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from signaling import rooms
from signaling.bus import MemoryBus, listen, session_channel
from signaling.messages import Admit
from signaling.state import MemoryStateStore, StateConflict, Versioned, room_key, update_room

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def test_every_subscriber_of_a_channel_gets_each_message_and_no_other():
    async def scenario():
        bus = MemoryBus()
        async with bus.subscribe("a") as one, bus.subscribe("a") as two, bus.subscribe("b") as other:
            await bus.publish("a", {"n": 1})
            await bus.publish("a", {"n": 2})
            assert [await one.get(1), await one.get(1)] == [{"n": 1}, {"n": 2}]
            assert [await two.get(1), await two.get(1)] == [{"n": 1}, {"n": 2}]
            with pytest.raises(TimeoutError):
                await other.get(0.05)
        await bus.publish("a", {"n": 3})  # nobody listens any more: dropped, not an error
        await bus.close()

    asyncio.run(scenario())


def test_messages_are_copied_through_json():
    async def scenario():
        bus = MemoryBus()
        async with bus.subscribe("a") as sub:
            sent = {"to": (1, 2), "nested": {"x": [1]}}
            await bus.publish("a", sent)
            got = await sub.get(1)
            assert got == {"to": [1, 2], "nested": {"x": [1]}}
            got["nested"]["x"].append(2)
            assert sent["nested"]["x"] == [1]
            with pytest.raises(TypeError):
                await bus.publish("a", {"when": NOW})

    asyncio.run(scenario())


def test_closing_the_bus_ends_iteration_and_refuses_publishing():
    async def scenario():
        bus = MemoryBus()
        got = []
        async with bus.subscribe("a") as sub:

            async def consume():
                async for message in sub:
                    got.append(message)

            task = asyncio.create_task(consume())
            await bus.publish("a", {"n": 1})
            await asyncio.sleep(0)
            await bus.close()
            await asyncio.wait_for(task, 1)
        assert got == [{"n": 1}]
        with pytest.raises(RuntimeError):
            await bus.publish("a", {"n": 2})

    asyncio.run(scenario())


def test_listen_calls_back_sync_and_async_and_signals_readiness():
    async def scenario():
        bus = MemoryBus()
        got = []
        ready = asyncio.Event()

        async def record(message):
            got.append(message["n"])

        task = asyncio.create_task(listen(bus, session_channel(7), record, ready=ready))
        await asyncio.wait_for(ready.wait(), 1)
        for n in range(3):
            await bus.publish("session:7", {"n": n})
        await bus.publish(session_channel(8), {"n": 99})
        while len(got) < 3:
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert got == [0, 1, 2]
        assert bus._subscribers == {}  # the cancelled listener unsubscribed

    asyncio.run(scenario())


def test_memory_store_compare_and_set():
    async def scenario():
        store = MemoryStateStore()
        assert await store.get("k") == Versioned(None, 0)
        assert await store.compare_and_set("k", 0, "a")
        assert not await store.compare_and_set("k", 0, "b")
        assert await store.get("k") == Versioned("a", 1)
        assert await store.compare_and_set("k", 1, "c")
        assert await store.get("k") == Versioned("c", 2)
        await store.delete("k")
        assert await store.get("k") == Versioned(None, 0)

    asyncio.run(scenario())


class RacingStore(MemoryStateStore):
    """Lets a competing writer in between the caller's read and its write, RACES times."""

    def __init__(self, races: int, competing) -> None:
        super().__init__()
        self.races = races
        self.competing = competing
        self.writes = 0

    async def get(self, key):
        seen = await super().get(key)
        if self.races:
            self.races -= 1
            room = rooms.Room.from_json(seen.value)
            await super().compare_and_set(key, seen.version, self.competing(room).room.to_json())
        return seen

    async def compare_and_set(self, key, expected_version, value):
        self.writes += 1
        return await super().compare_and_set(key, expected_version, value)


def test_update_room_creates_the_room_once_and_skips_writes_that_change_nothing():
    async def scenario():
        store = MemoryStateStore()
        initial = lambda: rooms.new_room(5)  # noqa: E731
        t = await update_room(store, 5, lambda r: rooms.join(r, 1, "leader", now=NOW), initial=initial)
        assert t.room.state == "open"
        assert (await store.get(room_key(5))).version == 1
        stored = rooms.Room.from_json((await store.get(room_key(5))).value)
        assert stored == t.room
        t = await update_room(store, 5, lambda r: rooms.disconnect(r, 99, now=NOW), initial=initial)
        assert not t.changed and (await store.get(room_key(5))).version == 1

    asyncio.run(scenario())


def test_update_room_retries_on_conflict_and_loses_nobody():
    async def scenario():
        store = RacingStore(races=0, competing=None)
        await MemoryStateStore.compare_and_set(store, room_key(5), 0, rooms.join(rooms.new_room(5), 1, "leader", now=NOW).room.to_json())
        store.races = 3
        counter = iter(range(10, 20))
        store.competing = lambda room: rooms.join(room, next(counter), "observer", now=NOW)
        t = await update_room(store, 5, lambda r: rooms.join(r, 2, "room", now=NOW), initial=lambda: rooms.new_room(5))
        stored = rooms.Room.from_json((await store.get(room_key(5))).value)
        assert stored == t.room
        assert {p.id for p in stored.participants} == {1, 2, 10, 11, 12}
        assert store.writes == 4  # three lost races, then success

    asyncio.run(scenario())


def test_update_room_gives_up_after_its_attempts():
    async def scenario():
        store = RacingStore(races=100, competing=lambda room: rooms.join(room, 1, "leader", now=NOW))
        await MemoryStateStore.compare_and_set(store, room_key(5), 0, rooms.new_room(5).to_json())
        with pytest.raises(StateConflict):
            await update_room(store, 5, lambda r: rooms.join(r, 2, "room", now=NOW), initial=lambda: rooms.new_room(5), attempts=3)

    asyncio.run(scenario())


def test_update_room_stores_nothing_when_the_step_is_refused():
    async def scenario():
        store = MemoryStateStore()
        await update_room(store, 5, lambda r: rooms.join(r, 3, "room", now=NOW), initial=lambda: rooms.new_room(5))
        with pytest.raises(Exception) as caught:
            await update_room(store, 5, lambda r: rooms.apply(r, 3, Admit(participant_id=3), now=NOW), initial=lambda: rooms.new_room(5))
        assert caught.value.code == "forbidden"
        assert (await store.get(room_key(5))).version == 1

    asyncio.run(scenario())
