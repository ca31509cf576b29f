"""The media side of a front whose calls' media lives on media workers: each step is relayed to the session's worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from recordings.storage import Storage, storage_from_settings
from signaling.bus import Bus
from signaling.events import MediaSignal
from signaling.messages import Error, ServerMessage, to_dict
from vreception.cluster.keys import ClusterKeys
from vreception.cluster.placement import Placement
from vreception.cluster.relay import Op, command, worker_channel

if TYPE_CHECKING:
    from vreception.config import Settings

log = logging.getLogger("vreception.calls.remote")

Deliver = Callable[[int, int, ServerMessage], Awaitable[None]]
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5


def redis_client(url: str) -> aioredis.Redis:
    """A client for the registry and placements: connecting and each command fail in seconds, not never; a command
    that finds its connection broken (Redis restarted) connects again and is retried, three times within about two
    seconds (redis-py retries nothing by default)."""
    return aioredis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=READ_TIMEOUT_S,
                             retry=Retry(ExponentialBackoff(cap=1.0, base=0.25), 3),
                             retry_on_error=[RedisConnectionError, RedisTimeoutError])


class RemoteMedia:
    """CallMedia's interface on a front: placement in Redis, every step a command on the holding worker's channel."""

    def __init__(self, *, settings: Settings, bus: Bus, deliver: Deliver) -> None:
        assert settings.redis_url, "media workers need VRECEPTION_REDIS_URL"
        self._settings, self._bus, self._deliver = settings, bus, deliver
        self.client = redis_client(settings.redis_url)
        self.placement = Placement(self.client, ClusterKeys(settings.redis_prefix))
        self._storage: Storage | None = None
        self._pending: set[asyncio.Task[bool]] = set()
        self.relayed = 0

    @property
    def storage(self) -> Storage:
        """Where recordings go (the fronts read them for playback)."""
        if self._storage is None:
            self._storage = storage_from_settings(self._settings)
        return self._storage

    def recording(self, session_id: int) -> bool:
        """Recordings run on the workers; a front holds none."""
        return False

    def idle(self) -> bool:
        """A front holds no media."""
        return True

    async def open(self, session_id: int) -> None:
        """A participant joined SESSION_ID: place its call on the least-loaded live worker (it stays there)."""
        if await self.placement.place(session_id) is None:
            log.warning("session %s: no live media worker to place it on", session_id)

    async def signal(self, session_id: int, signal: MediaSignal) -> None:
        """Relay an offer or answer to the session's worker; its answer comes back on the session's channel."""
        sent = await self._send("signal", session_id, place=True, participant_id=signal.participant_id,
                                message=to_dict(signal.message))
        if not sent:
            await self._deliver(session_id, signal.participant_id,
                                Error(code="illegal_state", detail="media: no media worker is available"))

    async def leave(self, session_id: int, participant_id: int) -> None:
        """Disconnect a participant's media on the worker."""
        await self._send("leave", session_id, participant_id=participant_id)

    async def share_screen(self, session_id: int, participant_id: int) -> None:
        """Ask the worker to offer PARTICIPANT_ID a slot for a shared screen."""
        await self._send("share_screen", session_id, participant_id=participant_id)

    async def stop_screen(self, session_id: int, participant_id: int) -> None:
        """End PARTICIPANT_ID's screen share on the worker."""
        await self._send("stop_screen", session_id, participant_id=participant_id)

    def set_media_state(self, session_id: int, participant_id: int, *, audio: bool, video: bool) -> None:
        """Pass a participant's mute and camera state to the worker's recording."""
        task = asyncio.get_running_loop().create_task(
            self._send("media_state", session_id, participant_id=participant_id, audio=audio, video=video))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def record(self, session_id: int) -> None:
        """Start recording SESSION_ID on its worker."""
        await self._send("record", session_id, place=True)

    async def release(self, session_id: int) -> None:
        """Nobody of SESSION_ID is connected to this front: the worker lets go of the hub if nobody holds media."""
        await self._send("release", session_id)

    async def end(self, session_id: int) -> None:
        """The session is over: its worker finalises the recording and lets the session go."""
        await self._send("end", session_id)

    async def close(self) -> None:
        """Release the Redis client (the workers keep their calls)."""
        await asyncio.gather(*self._pending, return_exceptions=True)
        await self.client.aclose()

    async def _send(self, op: Op, session_id: int, *, place: bool = False, **fields: Any) -> bool:
        worker = await (self.placement.place(session_id) if place else self.placement.placed_on(session_id))
        if worker is None:
            if place:
                log.warning("session %s: no live media worker for %s", session_id, op)
            return False
        await self._bus.publish(worker_channel(worker), command(op, session_id, **fields))
        self.relayed += 1
        return True
