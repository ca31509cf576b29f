"""Moved to tests/factories.py; these names stay importable from here for tests written against the old module."""

from tests.factories import (  # noqa: F401
    MORE_PEOPLE,
    NOW,
    POLICY,
    SH,
    Scene,
    World,
    build_scene,
    build_world,
    csrf_of,
    extend_org,
    id_number,
    page_client,
    token,
)
