"""The topology tests' world: every host and engine of tests/cluster/world.py, up for one test."""

from __future__ import annotations

import pytest

from tests.cluster.world import running_world


@pytest.fixture
def world(db, tmp_path, request):
    """The world with the test module's WORLD_OPTIONS (running_world's keyword arguments)."""
    with running_world(db, tmp_path, **getattr(request.module, "WORLD_OPTIONS", {})) as built:
        yield built
