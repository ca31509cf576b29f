"""Media workers announce themselves (id, address, load, capacity) with a heartbeat that expires when they die."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from vreception.cluster.keys import ClusterKeys

log = logging.getLogger("vreception.cluster")


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker says about itself in each heartbeat."""

    id: str
    address: str
    sessions: int = 0
    participants: int = 0
    capacity: int = 50


async def announce(client: aioredis.Redis, keys: ClusterKeys, info: WorkerInfo, *, ttl_ms: int) -> bool:
    """Write INFO for TTL_MS and list the worker among the known ones; whether its last announcement was still
    there (False: the worker was silent past its TTL, and may have been taken for lost meanwhile)."""
    async with client.pipeline(transaction=True) as pipe:
        pipe.exists(keys.worker(info.id))
        pipe.set(keys.worker(info.id), json.dumps(asdict(info)), px=ttl_ms)
        pipe.sadd(keys.workers, info.id)
        pipe.hset(keys.addresses, info.id, info.address)
        existed, _, _, _ = await pipe.execute()
    return bool(existed)


async def withdraw(client: aioredis.Redis, keys: ClusterKeys, worker_id: str) -> None:
    """A worker stopping cleanly: its announcement goes at once (its sessions are adopted like a lost worker's)."""
    await client.delete(keys.worker(worker_id))


async def live_workers(client: aioredis.Redis, keys: ClusterKeys) -> list[WorkerInfo]:
    """Every worker whose heartbeat has not expired, by id."""
    ids = sorted(m.decode() if isinstance(m, bytes) else m for m in await client.smembers(keys.workers))
    if not ids:
        return []
    values = await client.mget([keys.worker(i) for i in ids])
    return [WorkerInfo(**json.loads(v)) for v in values if v is not None]


class Heartbeat:
    """Renews a worker's announcement every INTERVAL_MS (TTL_MS to live); ON_BEAT runs after each renewal.

    It knows how long its announcements have followed each other without a break (`steady_ms`): a break (Redis
    away, or this process stalled past the TTL) means the other workers' announcements may have lapsed too, or
    this worker's own did (`lapsed`: its sessions may have been adopted meanwhile).
    """

    def __init__(self, client: aioredis.Redis, keys: ClusterKeys, describe: Callable[[], WorkerInfo], *,
                 interval_ms: int = 1000, ttl_ms: int = 3000) -> None:
        self.client, self.keys, self.describe = client, keys, describe
        self.interval_ms, self.ttl_ms = interval_ms, ttl_ms
        self.beats = 0
        self.lapsed = False  # the last renewal found this worker's announcement expired
        self._steady_since: float | None = None

    async def beat(self) -> None:
        """One renewal."""
        try:
            existed = await announce(self.client, self.keys, self.describe(), ttl_ms=self.ttl_ms)
        except BaseException:
            self._steady_since = None
            raise
        self.lapsed = self.beats > 0 and not existed
        if self.lapsed or self._steady_since is None:
            self._steady_since = time.monotonic()
        self.beats += 1

    @property
    def steady_ms(self) -> float:
        """How long this worker's announcements have followed each other without a break (0: broken now)."""
        return 0.0 if self._steady_since is None else (time.monotonic() - self._steady_since) * 1000

    async def run(self, on_beat: Callable[[], object] | None = None) -> None:
        """Renew until cancelled; a Redis that is briefly gone is retried at the next beat."""
        while True:
            try:
                await self.beat()
                if on_beat is not None:
                    result = on_beat()
                    if asyncio.iscoroutine(result):
                        await result
            except (TimeoutError, OSError, RedisError) as exc:
                log.warning("heartbeat: Redis does not answer: %s", exc)
            await asyncio.sleep(self.interval_ms / 1000)
