"""No route that holds a database session runs on the event loop (one waiting for a lock would stall them all)."""

from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from tests.web.test_role_route_table import _flat
from web import deps


def _uses_the_database(dependant) -> bool:
    return any(d.call is deps._session or _uses_the_database(d) for d in dependant.dependencies)


def test_every_route_with_a_database_session_is_a_plain_function(app):
    offenders = []
    for context in _flat(app):
        route = getattr(context, "route", context)
        if isinstance(route, APIRoute) and inspect.iscoroutinefunction(route.endpoint) \
                and _uses_the_database(route.dependant):
            offenders.append(f"{sorted(route.methods)} {route.path} ({route.endpoint.__module__}.{route.name})")
    assert not offenders, "async routes holding a DbSession:\n" + "\n".join(offenders)
