"""Test harness: every database test runs on SQLite and on PostgreSQL, each test on clean tables."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import fastapi.routing
import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import text

import vreception.auth.passwords as passwords
from tests.factories import PASSWORD as PASSWORD  # re-exported: the builders live in tests/factories.py
from tests.factories import Org, app_settings, build_org
from tests.factories import login as login
from vreception import audit, clock
from vreception.cases import monthly_figures
from vreception.config import Settings
from vreception.db import Base, Database
from vreception.migrations import upgrade

POSTGRES_URL = os.environ.get("VRECEPTION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Real argon2 hashes with the cheapest parameters: hundreds of test accounts would otherwise
# cost most of the suite's time. tests/core/test_auth.py checks the production parameters.
passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def _share_route_builds() -> None:
    """Build each included route's handler once per test process, not once per test's app.

    FastAPI (0.16x) builds an included route's handler, dependencies and pydantic fields lazily, per app, on the
    first request that walks past it: some 300 ms per app, a fifth of the suite's time with an app per test. What it
    builds differs between apps only by the app it names for dependency overrides, which this project never sets
    (tests/core/test_layout.py checks), so the first build is shared. Without the internal this wraps, nothing is
    shared and the suite is only slower."""
    effective = getattr(fastapi.routing, "_EffectiveRouteContext", None)
    if effective is None or not hasattr(effective, "from_api_route"):
        return
    build = effective.from_api_route
    built: dict[tuple, object] = {}

    def from_api_route(*, original_route, include_context):
        c = include_context
        key = (id(original_route), id(c.included_router), c.prefix, tuple(map(str, c.tags)),
               tuple(map(id, c.dependencies)), repr(c.responses), tuple(map(id, c.callbacks)), c.deprecated,
               c.include_in_schema, repr(c.default_response_class), repr(c.generate_unique_id_function),
               repr(c.strict_content_type), c.max_body_size)
        if key not in built:
            built[key] = (original_route, build(original_route=original_route, include_context=include_context))
        return built[key][1]

    effective.from_api_route = staticmethod(from_api_route)


_share_route_builds()


# Unique per test run, so runs sharing the PostgreSQL server (a developer's and CI's) never meet.
_RUN = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)[:10]


MEDIA_TESTS = ("tests/calls/", "tests/recordings/")


FIRST_TESTS = ("tests/recordings/test_recording_calls.py",)


def pytest_collection_modifyitems(config, items):
    """Media tests (real peers, calls in Chromium, timing bounds) are marked `media`: `make test` runs them in a
    second, single-process pass, so nothing competes with their timing for the two cores (under `-n 2` they would
    still share one worker). Browser tests of pages without a call stay in the parallel pass, in one group."""
    for item in items:
        # The load and fuzz tests keep their own group in the parallel pass: the overload test needs contention.
        if item.nodeid.startswith(MEDIA_TESTS):
            item.add_marker(pytest.mark.media)
            item.add_marker(pytest.mark.xdist_group("media"))
        elif item.get_closest_marker("browser") is not None:
            # Pages in Chromium without a call: no real-time bound, so they run in the parallel pass, one at a time
            # on one worker (two Chromiums at once would crowd two cores).
            item.add_marker(pytest.mark.xdist_group("pages"))
    # The real-time recording tests first, in a fresh process: after some 80 media tests in the same process
    # their A/V and span bounds failed in clean CI runs; run alone (or first) they hold. In the parallel pass the
    # grouped tests (each group minutes long, on one worker) go first: xdist hands out work in collection order,
    # and a group reached last leaves the other worker idle while it runs.
    items.sort(key=lambda item: (not item.nodeid.startswith(FIRST_TESTS),
                                 item.get_closest_marker("xdist_group") is None))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_keep_xdist_groups(config, items) -> None:
    """Keep `--dist loadgroup` grouping tests: pytest 9 derives a node's id from its structured id, so the
    `@group` suffix pytest-xdist 3.8 writes into the old string field is lost and every test is scheduled alone
    (pytest-dev/pytest-xdist#1386). Written into the structured id here; nothing to do once xdist does it itself."""
    if not getattr(config.option, "loadgroup", False):  # set on xdist workers only
        return
    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(item.nodeid + suffix)


def _worker() -> str:
    worker = re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main")) or "main"
    return f"{_RUN}_{worker}"


def postgres_url(schema: str) -> str:
    """The test PostgreSQL URL with SCHEMA first on the search path."""
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def _postgres_reachable() -> str | None:
    try:
        db = Database(POSTGRES_URL, pool_size=1)
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        db.dispose()
        return None
    except Exception as exc:  # report whatever the driver says
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def fresh_postgres_schema(schema: str) -> str:
    """Drop and create SCHEMA in the test database; returns its URL."""
    admin = Database(POSTGRES_URL, pool_size=1)
    with admin.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return postgres_url(schema)


def drop_postgres_schema(schema: str) -> None:
    """Remove a test schema."""
    admin = Database(POSTGRES_URL, pool_size=1)
    with admin.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Skip PostgreSQL tests when no server answers, except under CI where that fails."""
    problem = _postgres_reachable()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true and is unreachable at {POSTGRES_URL}: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}: {problem}")


@pytest.fixture(scope="session")
def _migrated(request, tmp_path_factory) -> dict[str, Database]:
    cache: dict[str, Database] = {}
    yield cache
    for database in cache.values():
        database.dispose()
    if "postgresql" in cache:
        drop_postgres_schema(f"vrt_{_worker()}")


def _migrated_database(backend: str, cache: dict, tmp_path_factory, request) -> Database:
    if backend not in cache:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        else:
            request.getfixturevalue("postgres_available")
            url = fresh_postgres_schema(f"vrt_{_worker()}")
        upgrade(url)
        cache[backend] = Database(url)
        # The audit chain is keyed as the tests' apps key it (tests.factories.app_settings uses this secret).
        cache[backend].use_audit_key(audit.key_from_secret("t" * 48))
    return cache[backend]


def reset(db: Database) -> None:
    """Empty every table and restart ids; the audit chain starts again at its genesis."""
    tables = [t.name for t in Base.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if db.backend == "postgresql":
            # TRUNCATE makes new files for all 55 tables (about 1 s, most of a PostgreSQL test's setup); a test
            # leaves rows in a few tables, which DELETE empties in milliseconds, children before parents
            filled = set(connection.execute(text(" UNION ALL ".join(
                f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})" for table in tables))).scalars())
            for table in reversed(tables):
                if table in filled:
                    connection.execute(text(f"DELETE FROM {table}"))
            connection.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                                    "WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace"))
        else:
            connection.execute(text("PRAGMA defer_foreign_keys=ON"))  # nodes refer to nodes
            for table in reversed(tables):
                connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})
    # the rows went without the ORM, whose events drop the live month's kept counts: drop them here
    monthly_figures.forget_recent()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, _migrated, tmp_path_factory) -> Database:
    """A migrated, empty database: once on SQLite, once on PostgreSQL."""
    database = _migrated_database(request.param, _migrated, tmp_path_factory, request)
    reset(database)
    yield database
    clock.reset()


@pytest.fixture
def settings(db, tmp_path) -> Settings:
    """Settings for an app on the test database (dev mode, a real secret)."""
    return app_settings(db, tmp_path / "var")


@pytest.fixture
def app(settings, db):
    from vreception.app import create_app

    return create_app(settings, db)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def org(db) -> Org:
    """Province → city → county → two townships (plus a second county), departments, rooms, accounts."""
    return build_org(db)
