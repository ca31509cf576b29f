"""Migrations: upgrade from empty on both databases, match the models, and go down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from tests.conftest import _worker, drop_postgres_schema, fresh_postgres_schema
from vreception.db import Base, Database
from vreception.migrations import downgrade, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_available")
    schema = f"vrt_mig_{_worker()}"
    yield fresh_postgres_schema(schema)
    drop_postgres_schema(schema)


def test_upgrade_from_empty_creates_every_table_and_matches_models(empty_url):
    upgrade(empty_url)
    db = Database(empty_url)
    try:
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            head = connection.execute(text("SELECT seq, hash FROM audit_head")).one()
        assert diff == [], f"models and migrations differ: {diff}"
        assert head == (0, "0" * 64)
    finally:
        db.dispose()


def test_downgrade_to_base_and_upgrade_again(empty_url):
    upgrade(empty_url)
    downgrade(empty_url, "base")
    db = Database(empty_url)
    try:
        assert not set(Base.metadata.tables) & set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
    upgrade(empty_url)
    db = Database(empty_url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()
