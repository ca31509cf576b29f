"""The command line as a user runs it: demo, db upgrade, nodes list, users, keys rotate, audit verify."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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


@pytest.fixture(scope="module")
def demo_load(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """A folder where `vreception demo --no-serve` has run once, and what that run printed."""
    folder = tmp_path_factory.mktemp("demo")
    return folder, run(["demo", "--no-serve"], folder)


@pytest.fixture
def demo_dir(demo_load, tmp_path) -> Path:
    """A copy of the demo folder for one test: the demo province, its accounts and matters."""
    shutil.copytree(demo_load[0] / "var", tmp_path / "var")
    return tmp_path


@pytest.mark.slow
@pytest.mark.xdist_group("cli_demo")
def test_demo_twice_loads_once_and_prints_sign_ins(demo_load, demo_dir):
    tmp_path, first = demo_dir, demo_load[1]
    assert "loading the demo province" in first.stdout
    for username in ("coord.province", "coord.city", "coord.county", "coord.township", "leader.province",
                     "leader.city", "leader.county", "room.township", "handler.county"):
        assert username in first.stdout
    assert (tmp_path / "var" / "vreception.db").exists()
    lines = run(["nodes", "list"], tmp_path).stdout.splitlines()
    second = run(["demo", "--no-serve"], tmp_path)
    assert "already loaded" in second.stdout
    assert "/calls/1" in first.stdout and "/calls/1" in second.stdout  # today's walk-in, booked once
    assert "/gallery/" in first.stdout and "hearing.chair" in first.stdout  # the demo hearing and its chair
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
@pytest.mark.xdist_group("cli_demo")
def test_demo_data_shape(demo_dir):
    tmp_path = demo_dir
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
        from vreception.models.hearings import Hearing
        from vreception.models.scheduling import ReceptionSession, SessionKind

        # The three sample matters, the month of history (tests/core/test_demo_history.py) and today's walk-in, the
        # only ad hoc session; the demo hearing (and its own matter) is tested below.
        heard = select(Hearing.matter_id)
        assert session.scalar(select(func.count()).select_from(Matter).where(Matter.id.notin_(heard))) == 3 + 80
        assert session.scalar(select(func.count()).select_from(ReceptionSession)
                              .where(ReceptionSession.kind == SessionKind.reception,
                                     ReceptionSession.ad_hoc.is_(True))) == 1
        assert len(demo.sign_ins(db=session)) >= 13
    db.dispose()


def _demo_database(folder: Path):
    from vreception import audit
    from vreception.config import Settings
    from vreception.db import Database

    settings = Settings(_env_file=None, mode="demo", data_dir=folder / "var")
    db = Database(settings.effective_database_url)
    db.use_audit_key(audit.key_from_secret(settings.effective_secret_key()))
    return settings, db


def _seed(settings, db):
    from scheduling import demo_hearing
    from scheduling.policy import policy_from

    with db.transaction() as session:
        return demo_hearing.seed(db=session, policy=policy_from(settings), secret=settings.effective_secret_key(),
                                 decision_days=settings.hearing_decision_days)


@pytest.mark.slow
@pytest.mark.xdist_group("cli_demo")
def test_demo_hearing_is_noticed_public_and_its_chair_joins_the_call(demo_dir):
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from vreception import clock, demo
    from vreception.app import create_app
    from vreception.models import Document, Matter, MatterState, Person
    from vreception.models.hearings import Hearing, HearingStage, HearingState
    from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState

    settings, db = _demo_database(demo_dir)
    try:
        seeded = _seed(settings, db)
        assert seeded is not None
        assert _seed(settings, db) == seeded  # run again, the demo keeps its hearing
        with db.transaction() as s:
            hearing = s.get(Hearing, seeded.hearing_id)
            people = {p.id: p.username for p in s.scalars(select(Person).where(Person.username.isnot(None)))}
            # Held by the county that handles the accepted matter, decided, staffed, public, noticed.
            assert s.get(Matter, hearing.matter_id).state is MatterState.accepted
            assert (hearing.stage, hearing.state, hearing.public) == (HearingStage.handling, HearingState.noticed, True)
            assert people[hearing.chair_id] == "hearing.chair" and people[hearing.recorder_id] == "hearing.clerk"
            assert sorted(people[m.person_id] for m in hearing.panel if not m.withdrawn) == list(demo.HEARING_MEMBERS)
            assert hearing.decision_document_id is not None
            booking = s.get(ReceptionSession, hearing.session_id)
            assert (booking.kind, booking.state, booking.leader_id) == (SessionKind.hearing, SessionState.booked,
                                                                         hearing.chair_id)
            seats = {p.role: p for p in booking.participants}
            assert seats["room"].name == seeded.room == "新河街道视频接访室"
            assert {"chair", "recorder", "hearing_member", "handler", "petitioner"} <= set(seats)
            chair_seat = seats["chair"].id
            notices = s.scalars(select(Document).where(Document.matter_id == hearing.matter_id,
                                                       Document.kind == "hearing_notice")).all()
            assert len(notices) == len([p for p in booking.participants if p.role not in ("room", "petitioner")]) + 1
            assert s.scalar(select(Participant.id).where(Participant.session_id == booking.id,
                                                          Participant.role == "observer")) is None
        lines = "\n".join(seeded.lines("http://127.0.0.1:8000"))
        for shown in ("hearing.chair", "hearing.clerk", "hearing.member3", "room.township2",
                      f"/calls/{seeded.session_id}", f"/matters/{seeded.matter_id}", f"/gallery/{seeded.gallery_key}"):
            assert shown in lines

        # A minute before the session, its call is open: the chair takes the chair's seat; the gallery link answers
        # anyone, without a sign-in.
        clock.travel_to(seeded.starts_at - timedelta(minutes=1))
        client = TestClient(create_app(settings, db))
        signed_in = client.post("/api/v1/auth/login", json={"username": "hearing.chair", "password": demo.DEMO_PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        joined = client.post(f"/api/v1/sessions/{seeded.session_id}/join", json={"participant_id": chair_seat},
                             headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
        assert joined.status_code == 200, joined.text
        assert joined.json()["token"]
        gallery = TestClient(client.app, headers={"accept": "text/html"}).get(f"/gallery/{seeded.gallery_key}")
        assert gallery.status_code == 200 and "听证旁听" in gallery.text
    finally:
        clock.reset()
        db.dispose()


@pytest.mark.slow
@pytest.mark.xdist_group("cli_demo")
def test_demo_hearing_is_booked_before_the_cutoff_and_held_as_soon_as_the_room_is_open(demo_dir):
    from sqlalchemy import select

    from vreception import clock
    from vreception.models import Matter
    from vreception.models.scheduling import ReceptionSession

    settings, db = _demo_database(demo_dir)
    zone = ZoneInfo("Asia/Shanghai")

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        # Days after any hearing the demo booked for now; 8 March 2030 is a Friday, 11 March a Monday.
        return datetime(2030, 3, day, hour, minute, tzinfo=zone)

    # (the demo set up at, the session's start, when the office booked it)
    cases = [(at(8, 20), at(11, 8), at(8, 20)),  # before the cut-off of Monday's session: booked then
             (at(11, 10), at(11, 10, 20), at(8, 16)),  # the room is open now: booked on the last working day in time
             (at(11, 18, 30), at(12, 8), at(11, 16))]  # the room has closed: tomorrow morning, booked before 17:00
    try:
        seen = set()
        for now, starts, booked in cases:
            clock.travel_to(now)
            seeded = _seed(settings, db)
            assert seeded is not None and seeded.hearing_id not in seen
            seen.add(seeded.hearing_id)
            assert seeded.starts_at == starts and seeded.opens_at == starts - timedelta(minutes=30)
            assert clock.now() == now  # the clock came back
            with db.transaction() as s:
                booking = s.get(ReceptionSession, seeded.session_id)
                assert abs(booking.booked_at - booked) < timedelta(seconds=30)
                matter = s.get(Matter, seeded.matter_id)
                assert abs(matter.received_at - (booked - timedelta(days=10))) < timedelta(seconds=30)
        clock.travel_to(at(11, 18, 35))
        assert _seed(settings, db).hearing_id == seeded.hearing_id  # still ahead: kept
        with db.transaction() as s:
            assert s.scalar(select(ReceptionSession.id).where(ReceptionSession.id > seeded.session_id)) is None
    finally:
        clock.reset()
        db.dispose()


def test_users_add_and_sign_in(tmp_path):
    run(["db", "upgrade"], tmp_path)
    from vreception import audit, org
    from vreception.db import Database

    secret = "audit-test-" + "k9X2" * 10
    db = Database(f"sqlite:///{tmp_path / 'var' / 'vreception.db'}")
    db.use_audit_key(audit.key_from_secret(secret))
    with db.transaction() as session:
        org.create_node(db=session, code="580000", name="青岚省", level="province")
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
        org.create_node(db=session, code="580000", name="青岚省", level="province")
        org.create_node(db=session, code="580100", name="岚州市", level="city", parent_id=1)
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


def _province_with_an_account(tmp_path, secret: str) -> None:
    from vreception import audit, org, people
    from vreception.clock import now
    from vreception.db import Database

    db = Database(f"sqlite:///{tmp_path / 'var' / 'vreception.db'}")
    db.use_audit_key(audit.key_from_secret(secret))
    with db.transaction() as session:
        node = org.create_node(db=session, code="580000", name="青岚省", level="province")
        person = people.create_person(db=session, name="值班员", node_id=node.id, username="ops", password="Str0ng-pass")
        person.locked_at, person.failed_logins = now(), 10  # locked after ten wrong passwords
    db.dispose()


@pytest.mark.slow
def test_users_unlock_and_deactivate(tmp_path):
    run(["db", "upgrade"], tmp_path)
    secret = "audit-test-" + "k9X2" * 10
    keyed = {"VRECEPTION_MODE": "dev", "VRECEPTION_SECRET_KEY": secret}
    _province_with_an_account(tmp_path, secret)
    assert "unlocked ops" in run(["users", "unlock", "ops"], tmp_path, keyed).stdout
    assert "deactivated ops; ended 0 sign-ins" in run(["users", "deactivate", "ops"], tmp_path, keyed).stdout
    assert "reactivated ops" in run(["users", "deactivate", "ops", "--undo"], tmp_path, keyed).stdout
    assert run(["users", "deactivate", "nobody"], tmp_path, keyed, check=False).returncode == 1
    assert "ok" in run(["audit", "verify"], tmp_path, keyed).stdout


@pytest.mark.slow
def test_keys_rotate_moves_the_chain_to_the_new_key_once(tmp_path):
    run(["db", "upgrade"], tmp_path)
    old = "audit-test-" + "k9X2" * 10
    new = secrets.token_urlsafe(48)
    _province_with_an_account(tmp_path, old)
    (tmp_path / "old.key").write_text(old + "\n")
    rotated = {"VRECEPTION_MODE": "dev", "VRECEPTION_SECRET_KEY": new}
    out = run(["keys", "rotate", "--old-secret-file", str(tmp_path / "old.key")], tmp_path, rotated)
    assert "re-encrypted 0 petitioners; re-keyed 2 audit events" in out.stdout
    assert "audit chain ok" in run(["audit", "verify"], tmp_path, rotated).stdout
    stale = run(["audit", "verify"], tmp_path, {**rotated, "VRECEPTION_SECRET_KEY": old}, check=False)
    assert stale.returncode == 1 and "BROKEN" in stale.stdout
    again = run(["keys", "rotate", "--old-secret-file", str(tmp_path / "old.key")], tmp_path, rotated, check=False)
    assert again.returncode == 1 and "nothing changed" in again.stderr
    assert "audit chain ok" in run(["audit", "verify"], tmp_path, rotated).stdout
