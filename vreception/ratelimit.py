"""Counting failed attempts per key in a time window: in-process, or in Redis for several processes."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class MemoryFailures:
    """Failures per key in the last WINDOW seconds, for one process."""

    def __init__(self, allowed: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.allowed, self.window_s, self.clock = allowed, window_s, clock
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _trim(self, key: str) -> deque[float]:
        entries = self._seen[key]
        cutoff = self.clock() - self.window_s
        while entries and entries[0] < cutoff:
            entries.popleft()
        return entries

    def blocked(self, key: str) -> bool:
        with self._lock:
            return len(self._trim(key)) >= self.allowed

    def fail(self, key: str) -> None:
        with self._lock:
            self._trim(key).append(self.clock())

    def attempt(self, key: str) -> bool:
        """Count an attempt before it is checked, atomically: False when the allowance is used up."""
        with self._lock:
            entries = self._trim(key)
            if len(entries) >= self.allowed:
                return False
            entries.append(self.clock())
            return True

    def forgive(self, key: str) -> None:
        """Take back the latest attempt (it succeeded)."""
        with self._lock:
            entries = self._trim(key)
            if entries:
                entries.pop()


class RedisFailures:
    """The same count kept in Redis (fixed windows), shared by every server process."""

    def __init__(self, url: str, allowed: int, window_s: float, prefix: str = "vreception:failures:"):
        import redis

        self.client = redis.Redis.from_url(url)
        self.allowed, self.window_s, self.prefix = allowed, int(window_s), prefix

    def blocked(self, key: str) -> bool:
        value = self.client.get(self.prefix + key)
        return value is not None and int(value) >= self.allowed

    def fail(self, key: str) -> None:
        self.attempt(key)

    def attempt(self, key: str) -> bool:
        """Count an attempt before it is checked (one INCR: atomic across processes)."""
        pipe = self.client.pipeline()
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, self.window_s, nx=True)
        count = pipe.execute()[0]
        return int(count) <= self.allowed

    def forgive(self, key: str) -> None:
        """Take back an attempt that succeeded."""
        self.client.decr(self.prefix + key)


def make_failures(redis_url: str | None, allowed: int, window_s: float) -> MemoryFailures | RedisFailures:
    """Redis-backed when a Redis URL is configured, in-process otherwise."""
    return RedisFailures(redis_url, allowed, window_s) if redis_url else MemoryFailures(allowed, window_s)
