"""The command line as a user runs it: demo, db upgrade, nodes list, users add, audit verify."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import _worker, drop_postgres_schema, fresh_postgres_schema

ROOT = Path(__file__).resolve().parents[2]


def run(args, cwd, env_extra=None, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VRECEPTION_")}
    env.update(env_extra or {})
    result = subprocess.run([sys.executable, "-m", "vreception.cli", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=180)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.slow
def test_demo_twice_loads_once_and_prints_sign_ins(tmp_path):
    first = run(["demo", "--no-serve"], tmp_path)
    assert "loading the demo province" in first.stdout
    for username in ("coord.province", "coord.city", "coord.county", "coord.township", "leader.province",
                     "leader.city", "leader.county", "room.township", "handler.county"):
        assert username in first.stdout
    assert (tmp_path / "var" / "vreception.db").exists()
    lines = run(["nodes", "list"], tmp_path).stdout.splitlines()
    second = run(["demo", "--no-serve"], tmp_path)
    assert "already loaded" in second.stdout
    assert "/calls/1" in first.stdout and "/calls/1" in second.stdout  # today's walk-in, booked once
    assert run(["nodes", "list"], tmp_path).stdout.splitlines() == lines
    # The same database in production: the demo province and its known passwords are refused.
    production = {"VRECEPTION_MODE": "production", "VRECEPTION_SECRET_KEY": secrets.token_urlsafe(48),
                  "VRECEPTION_COOKIE_SECURE": "true"}
    refused = run(["serve", "--port", "1"], tmp_path, production, check=False)
    assert refused.returncode == 2
    assert "demo" in refused.stderr and "580000" in refused.stderr and "account admin" in refused.stderr

    levels = [line.split("\t")[1] for line in lines]
    assert levels.count("province") >= 6  # the province and its departments
    townships = run(["nodes", "list", "--level", "township"], tmp_path).stdout.splitlines()
    assert len({line.split("\t")[0] for line in townships}) >= 40
    counties = run(["nodes", "list", "--level", "county"], tmp_path).stdout.splitlines()
    assert sum(1 for line in counties if line.split("\t")[0].isdigit()) >= 9
    cities = run(["nodes", "list", "--level", "city"], tmp_path).stdout.splitlines()
    assert sum(1 for line in cities if line.split("\t")[0].isdigit()) >= 3
    assert all(line.count("\t") == 2 for line in lines)
    # The chain is keyed with the demo's secret: verified with it, and refused without any.
    assert "audit chain ok" in run(["audit", "verify"], tmp_path, {"VRECEPTION_MODE": "demo"}).stdout
    keyless = run(["audit", "verify"], tmp_path, check=False)
    assert keyless.returncode == 2 and "VRECEPTION_SECRET_KEY" in keyless.stderr


@pytest.mark.slow
def test_demo_data_shape(tmp_path):
    run(["demo", "--no-serve"], tmp_path)
    from sqlalchemy import func, select

    from vreception import audit, demo
    from vreception.db import Database
    from vreception.models import Node, NodeLevel, Person, Role, RoleAssignment, Room

    secret = "audit-test-" + "k9X2" * 10
    db = Database(f"sqlite:///{tmp_path / 'var' / 'vreception.db'}")
    db.use_audit_key(audit.key_from_secret(secret))
    with db.transaction() as session:
        regions = {lvl: session.scalars(select(Node).where(Node.level == lvl, Node.kind == "region")).all()
                   for lvl in NodeLevel}
        rooms_at = set(session.scalars(select(Room.node_id)))
        for node in regions[NodeLevel.township] + regions[NodeLevel.county]:
            assert node.id in rooms_at, f"no video room at {node.name}"
            assert len(node.code) in (6, 9) and node.code.isdigit()
        departments = session.scalars(select(Node).where(Node.kind == "department")).all()
        assert {d.level for d in departments} == set(NodeLevel)
        leaders = session.scalars(select(Person).join(RoleAssignment).where(RoleAssignment.role == Role.leader)).all()
        leader_levels = {session.get(Node, a.node_id).level for p in leaders for a in p.roles}
        assert leader_levels == set(NodeLevel)
        assert all(p.title for p in leaders)
        assert session.scalar(select(func.count()).select_from(Person)) > 100
        from vreception.models import Matter
        from vreception.models.scheduling import ReceptionSession

        assert session.scalar(select(func.count()).select_from(Matter)) == 3
        assert session.scalar(select(func.count()).select_from(ReceptionSession)) == 1
        assert len(demo.sign_ins(session)) >= 13
    db.dispose()


def test_users_add_and_sign_in(tmp_path):
    run(["db", "upgrade"], tmp_path)
    from vreception import audit, org
    from vreception.db import Database

    secret = "audit-test-" + "k9X2" * 10
    db = Database(f"sqlite:///{tmp_path / 'var' / 'vreception.db'}")
    db.use_audit_key(audit.key_from_secret(secret))
    with db.transaction() as session:
        org.create_node(session, code="580000", name="青岚省", level="province")
    db.dispose()
    out = run(["users", "add", "--username", "ops", "--password", "Str0ng-pass", "--role", "admin",
               "--node", "580000"], tmp_path)
    assert "added ops" in out.stdout
    bad = run(["users", "add", "--username", "ops2", "--password", "Str0ng-pass", "--role", "admin",
               "--node", "999999"], tmp_path, check=False)
    assert bad.returncode == 2 and "999999" in bad.stderr
    dup = run(["users", "add", "--username", "ops", "--password", "Str0ng-pass", "--role", "admin",
               "--node", "580000"], tmp_path, check=False)
    assert dup.returncode == 2 and "ops" in dup.stderr


def test_audit_verify_fails_after_tampering(tmp_path):
    run(["db", "upgrade"], tmp_path)
    from sqlalchemy import text

    from vreception import audit, org
    from vreception.db import Database

    secret = "audit-test-" + "k9X2" * 10
    db = Database(f"sqlite:///{tmp_path / 'var' / 'vreception.db'}")
    db.use_audit_key(audit.key_from_secret(secret))
    with db.transaction() as session:
        org.create_node(session, code="580000", name="青岚省", level="province")
        org.create_node(session, code="580100", name="岚州市", level="city", parent_id=1)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_events SET data = replace(data, '岚州市', '别的市') WHERE seq = 2"))
    db.dispose()
    keyed = {"VRECEPTION_MODE": "dev", "VRECEPTION_SECRET_KEY": secret}
    result = run(["audit", "verify"], tmp_path, keyed, check=False)
    assert result.returncode == 1
    assert "seq 2" in result.stdout and "BROKEN" in result.stdout


def test_db_upgrade_on_postgres(tmp_path, postgres_available):
    schema = f"vrt_cli_{_worker()}"
    url = fresh_postgres_schema(schema)
    try:
        out = run(["db", "upgrade"], tmp_path, {"VRECEPTION_DATABASE_URL": url})
        assert "database at head" in out.stdout
        assert run(["nodes", "list"], tmp_path, {"VRECEPTION_DATABASE_URL": url}).stdout == ""
    finally:
        drop_postgres_schema(schema)


def test_serve_refuses_placeholder_secret_in_production(tmp_path):
    result = run(["serve", "--port", "1"], tmp_path, {"VRECEPTION_MODE": "production"}, check=False)
    assert result.returncode == 2
    assert "VRECEPTION_SECRET_KEY" in result.stderr
