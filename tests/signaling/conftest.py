"""A real Redis for the Redis bus and store: a unique key prefix per test, cleaned up after."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

REDIS_URL = os.environ.get("VRECEPTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        return f"{exc.__class__.__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    problem = _reachable()
    if problem is not None:
        message = f"Redis at {REDIS_URL} is unreachable ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        print(f"\nskipping Redis tests: {message}")
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url):
    prefix = f"vreception-test:{uuid.uuid4().hex}:"
    yield prefix

    async def clean() -> None:
        import redis.asyncio as aioredis

        client = aioredis.from_url(redis_url)
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

    asyncio.run(clean())
