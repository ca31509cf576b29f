"""The Redis bus (pub/sub) and room state store (Lua compare-and-set), for several server processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from signaling.bus import Bus, Subscription
from signaling.state import StateStore, Versioned

log = logging.getLogger("vreception.signaling")
DEFAULT_PREFIX = "vreception:"
DEFAULT_TTL_S = 2 * 24 * 3600  # a room outlives any session; Redis forgets abandoned ones
_POLL_S = 0.5  # how long a reader may hold the connection before close() gets a turn
_SUBSCRIBE_TIMEOUT_S = 5.0
# What a Redis that went away (a restart, a lost host) raises on a connection it had.
_GONE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)
_NOT_SUBSCRIBED: tuple[type[BaseException], ...] = (*_GONE, TimeoutError)
_RESUBSCRIBE_S = 0.5


def _retrying() -> dict[str, Any]:
    """Client options: a command that finds its connection broken (Redis restarted) connects again and is retried,
    three times within about two seconds (redis-py retries nothing by default)."""
    return {"retry": Retry(ExponentialBackoff(cap=1.0, base=0.25), 3),
            "retry_on_error": [RedisConnectionError, RedisTimeoutError]}

# KEYS[1] room hash; ARGV: expected version, value, ttl ms. Returns the new version, 0 on conflict.
_CAS = """
local version = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if version ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', version + 1, 'data', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return version + 1
"""


class RedisSubscription(Subscription):
    """One channel on its own pub/sub connection."""

    def __init__(self, client: aioredis.Redis, name: str, channel: str) -> None:
        super().__init__(channel)
        self._client = client
        self._name = name
        self._pubsub: Any = None
        self._lock = asyncio.Lock()
        self._closed = False

    async def open(self) -> None:
        self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(self._name)
        # SUBSCRIBE is only sent; wait for Redis to confirm so a publish right after is not missed.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SUBSCRIBE_TIMEOUT_S
        while loop.time() < deadline:
            message = await self._pubsub.get_message(timeout=_POLL_S)
            if message is not None and message["type"] == "subscribe":
                return
        await self._pubsub.aclose()
        raise TimeoutError(f"Redis did not confirm the subscription to {self._name}")

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._closed:
            wait = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - loop.time()))
            try:
                async with self._lock:
                    if self._closed:
                        break
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
            except _GONE as exc:
                # Redis went away: subscribe again once it is back (what was published meanwhile is lost).
                log.warning("subscription to %s lost (%s); subscribing again", self._name, exc)
                await self._resubscribe()
                continue
            if message is not None and message["type"] == "message":
                payload: dict[str, Any] = json.loads(message["data"])
                return payload
            if deadline is not None and loop.time() >= deadline:
                raise TimeoutError(f"no message on {self.channel} within {timeout} s")
        return None

    async def _resubscribe(self) -> None:
        while not self._closed:
            await asyncio.sleep(_RESUBSCRIBE_S)
            async with self._lock:
                if self._closed:
                    return
                with contextlib.suppress(*_GONE):
                    await self._pubsub.aclose()
                try:
                    await self.open()
                    return
                except _NOT_SUBSCRIBED:
                    continue

    async def close(self) -> None:
        if self._closed:
            return
        # Waits for a reader's current poll, so the connection is never closed mid-read.
        async with self._lock:
            self._closed = True
            if self._pubsub is not None:
                await self._pubsub.unsubscribe(self._name)
                await self._pubsub.aclose()


CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5


class RedisBus(Bus):
    """The bus over Redis pub/sub: each subscription holds one connection."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX, owns_client: bool = False) -> None:
        self._client = client
        self._prefix = prefix + "bus:"
        self._owns_client = owns_client

    @classmethod
    def from_url(cls, url: str, *, prefix: str = DEFAULT_PREFIX) -> RedisBus:
        """A bus with its own client for URL (redis://host:port/db)."""
        # No read timeout: a subscription waits for messages as long as it lives. Connecting fails fast.
        return cls(aioredis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, **_retrying()), prefix=prefix,
                   owns_client=True)

    async def ping(self) -> None:
        """Raise unless Redis answers."""
        await self._client.ping()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._client.publish(self._prefix + channel, json.dumps(message))

    def subscribe(self, channel: str) -> Subscription:
        return RedisSubscription(self._client, self._prefix + channel, channel)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()


class RedisStateStore(StateStore):
    """Versioned values in Redis hashes (`v`, `data`), written by an atomic Lua compare-and-set."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        ttl_s: int = DEFAULT_TTL_S,
        owns_client: bool = False,
    ) -> None:
        self._client = client
        self._prefix = prefix + "state:"
        self._ttl_ms = ttl_s * 1000
        self._owns_client = owns_client
        self._cas = client.register_script(_CAS)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = DEFAULT_PREFIX, ttl_s: int = DEFAULT_TTL_S) -> RedisStateStore:
        """A store with its own client for URL (a Redis that stops answering fails a step in seconds, not never)."""
        client = aioredis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=READ_TIMEOUT_S,
                                   **_retrying())
        return cls(client, prefix=prefix, ttl_s=ttl_s, owns_client=True)

    async def ping(self) -> None:
        """Raise unless Redis answers."""
        await self._client.ping()

    async def get(self, key: str) -> Versioned:
        version, data = await self._client.hmget(self._prefix + key, ["v", "data"])
        if version is None:
            return Versioned(None, 0)
        return Versioned(data.decode() if isinstance(data, bytes) else data, int(version))

    async def compare_and_set(self, key: str, expected_version: int, value: str) -> bool:
        new_version = await self._cas(keys=[self._prefix + key], args=[expected_version, value, self._ttl_ms])
        return int(new_version) > 0

    async def delete(self, key: str) -> None:
        await self._client.delete(self._prefix + key)

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
