"""What the app builds at start is kept out of the garbage collector's full passes while it serves, and let go after."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient


def test_the_start_is_frozen_while_serving_and_unfrozen_at_shutdown(app):
    gc.unfreeze()
    with TestClient(app) as client:
        frozen = gc.get_freeze_count()
        assert client.get("/healthz").status_code == 200
    assert frozen > 10_000, frozen  # the routes, models and templates: tens of thousands of objects
    assert gc.get_freeze_count() == 0
