"""Fixtures of the web tests: the generated province of the scale guards (built once per test worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vreception import clock


@pytest.fixture(scope="session")
def _scale_world(postgres_available):
    """The 20,000-matter province on PostgreSQL (tests/web/scale_world.py), shared by the scale guard files."""
    from tests.web import scale_world

    yield from scale_world.build()


@pytest.fixture
def generated(_scale_world) -> Iterator:
    """The shared province (its database and accounts), read with the clock on the afternoon of its last day."""
    from tests.web.scale_world import AT

    clock.travel_to(AT)
    try:
        yield _scale_world
    finally:
        clock.reset()
