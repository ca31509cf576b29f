"""Test harness: every database test runs on SQLite and on PostgreSQL, each test on clean tables."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import text

import vreception.auth.passwords as passwords
from vreception import clock
from vreception.config import Settings
from vreception.db import Base, Database
from vreception.migrations import upgrade

POSTGRES_URL = os.environ.get("VRECEPTION_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# Real argon2 hashes with the cheapest parameters: hundreds of test accounts would otherwise
# cost most of the suite's time. tests/core/test_auth.py checks the production parameters.
passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


# Unique per test run, so runs sharing the PostgreSQL server (a developer's and CI's) never meet.
_RUN = (os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)[:10]


MEDIA_TESTS = ("tests/calls/", "tests/recordings/")


def pytest_collection_modifyitems(config, items):
    """Media tests (real peers, browsers, timing bounds) share one worker, so they never contend
    with each other for the two cores; the database tests fill the other worker."""
    for item in items:
        if item.nodeid.startswith(MEDIA_TESTS):
            item.add_marker(pytest.mark.xdist_group("media"))


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
    return cache[backend]


def reset(db: Database) -> None:
    """Empty every table and restart ids; the audit chain starts again at its genesis."""
    tables = [t.name for t in Base.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if db.backend == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            connection.execute(text("PRAGMA defer_foreign_keys=ON"))  # nodes refer to nodes
            for table in reversed(tables):
                connection.execute(text(f"DELETE FROM {table}"))
        connection.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"), {"h": "0" * 64})


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
    return Settings(mode="dev", database_url=db.url, data_dir=tmp_path / "var", secret_key="t" * 48,
                    media_host_addresses=["127.0.0.1"], job_interval_seconds=0)


@pytest.fixture
def app(settings, db):
    from vreception.app import create_app

    return create_app(settings, db)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


PASSWORD = "Secret@123"


@dataclass
class Org:
    """A small hierarchy with one account per role, for tests."""

    nodes: dict = field(default_factory=dict)
    rooms: dict = field(default_factory=dict)
    people: dict = field(default_factory=dict)


@pytest.fixture
def org(db) -> Org:
    """Province → city → county → two townships (plus a second county), departments, rooms, accounts."""
    return build_org(db)


def build_org(db) -> Org:
    """The small hierarchy of the org fixture, in DB."""
    from vreception import org as org_service
    from vreception import people

    out = Org()
    with db.transaction() as session:
        def node(key, code, name, level, parent=None, kind="region"):
            out.nodes[key] = org_service.create_node(session, code=code, name=name, level=level, kind=kind,
                                                     parent_id=out.nodes[parent].id if parent else None)

        node("province", "580000", "青岚省", "province")
        node("city", "580100", "岚州市", "city", "province")
        node("county", "580102", "城东区", "county", "city")
        node("county2", "580103", "城西区", "county", "city")
        node("township", "580102001", "桃源镇", "township", "county")
        node("township2", "580103001", "白沙镇", "township", "county2")
        node("county_dept", "580102-RSJ", "城东区人社局", "county", "county", kind="department")
        for key in ("county", "township", "township2"):
            out.rooms[key] = org_service.create_room(session, node_id=out.nodes[key].id, name=f"{out.nodes[key].name}视频接访室")

        def person(key, role, node_key, title="", room_key=None):
            p = people.create_person(session, name=f"测试{key}", title=title, node_id=out.nodes[node_key].id,
                                     username=key.replace("_", "."), password=PASSWORD)
            people.assign_role(session, person=p, role=role, node_id=out.nodes[node_key].id,
                               room_id=out.rooms[room_key].id if room_key else None)
            out.people[key] = p

        person("admin", "admin", "province")
        person("coord_province", "coordinator", "province")
        person("coord_county", "coordinator", "county")
        person("coord_county2", "coordinator", "county2")
        person("leader_county", "leader", "county", "副县长")
        person("leader_city", "leader", "city", "副市长")
        person("handler", "handler", "county_dept")
        person("room_township", "room", "township", room_key="township")
        person("hearing", "hearing_member", "county", "听证员（律师）")
    return out


def login(client, username: str, password: str = PASSWORD) -> dict:
    """Headers with a bearer token for USERNAME."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
