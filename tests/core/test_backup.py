"""`vreception backup` and `restore` as an operator runs them, on SQLite and on a PostgreSQL database the test
creates: the restored installation passes `audit verify` and `recordings verify` and serves the same files."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from recordings.demo_clips import record_held
from recordings.storage import LocalStorage
from tests.conftest import POSTGRES_URL
from tests.core.test_cli import run
from tests.factories import add_attachment, add_task, app_settings, build_org, register_matter, session_row
from vreception import audit, clock
from vreception.db import Database
from vreception.migrations import upgrade

SECRET = "k7Qe2Vw9Zr4Tn8Yp3Lm6Hs1Dx5Cb0Ga-Fj2Uo9Ri4Ek7Wq1Nz"


@pytest.fixture
def databases(request, tmp_path):
    """A factory of fresh empty databases of the test's backend; PostgreSQL ones are created and dropped here."""
    backend = request.param
    made: list[str] = []

    def fresh(name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name / 'vreception.db'}"
        request.getfixturevalue("postgres_available")
        database = f"vrbk_{uuid.uuid4().hex[:12]}"
        admin = Database(POSTGRES_URL, pool_size=1)
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        made.append(database)
        return POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}"

    yield fresh
    if made:
        admin = Database(POSTGRES_URL, pool_size=1)
        with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for database in made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


def env(url: str, data_dir: Path, secret: str = SECRET) -> dict[str, str]:
    return {"VRECEPTION_MODE": "dev", "VRECEPTION_SECRET_KEY": secret, "VRECEPTION_DATABASE_URL": url,
            "VRECEPTION_DATA_DIR": str(data_dir), "VRECEPTION_JOB_INTERVAL_SECONDS": "0"}


def populate(url: str, data_dir: Path) -> dict:
    """An installation with a matter, a task attachment, a held session with a finalised recording (real VP8/Opus
    segments in local storage) and a signed audit checkpoint."""
    if url.startswith("sqlite"):
        (data_dir).mkdir(parents=True, exist_ok=True)
    upgrade(url)
    db = Database(url)
    db.use_audit_key(audit.key_from_secret(SECRET))
    org = build_org(db)
    settings = app_settings(db, data_dir, secret_key=SECRET)
    storage = LocalStorage(data_dir / "recordings")
    with db.transaction() as session:
        matter, _ = register_matter(session, org, settings)
        task = add_task(session, org, matter, title="核实补偿款", due_at=clock.now() + timedelta(days=10))
        attachment = add_attachment(session, org, settings, task, data="调查底稿".encode() * 100)
        key = attachment.storage_key
        session_row(session, org, starts_at=clock.now() - timedelta(hours=1), state="ended",
                    roles=("leader", "room"), matter_id=matter.id)
    with db.transaction() as session:
        recorded = record_held(db=session, storage=storage)
    db.dispose()
    return {"attachment": key, "recordings": recorded}


@pytest.mark.slow
@pytest.mark.parametrize("databases", ["sqlite", "postgresql"], indirect=True)
def test_backup_restores_onto_fresh_database_and_verifies(databases, tmp_path):
    source_url, source_dir = databases("source"), tmp_path / "source"
    made = populate(source_url, source_dir)
    assert made["recordings"] == 1
    origin = env(source_url, source_dir)
    run(["audit", "checkpoint"], tmp_path, origin)
    archive = tmp_path / "backup"
    backed = run(["backup", str(archive)], tmp_path, origin)
    assert "backed up" in backed.stdout, backed.stdout
    document = json.loads((archive / "backup.json").read_text())
    keys = list(document["recordings"])
    # The manifest, the combined file and both participants' segments; the attachment and the checkpoint.
    assert sum(k.endswith(".json") for k in keys) == 1 and len(keys) == 4, keys
    assert made["attachment"] in document["files"] and "audit/checkpoint.json" in document["files"]
    assert "secret.key" not in json.dumps(document)
    assert (archive / document["database"]["file"]).stat().st_size > 10_000

    # Restore onto a freshly created, empty database and an empty data directory.
    target_url, target_dir = databases("target"), tmp_path / "target"
    target = env(target_url, target_dir)
    if target_url.startswith("sqlite"):
        target_dir.mkdir()
    restored = run(["restore", str(archive)], tmp_path, target)
    assert "restored" in restored.stdout
    verified = run(["audit", "verify", "--full"], tmp_path, target)
    assert "audit chain ok" in verified.stdout, verified.stdout
    recordings = run(["recordings", "verify"], tmp_path, target)
    assert recordings.stdout.count(": ok") == 1 and "PROBLEMS" not in recordings.stdout, recordings.stdout
    assert (target_dir / made["attachment"]).read_bytes() == (source_dir / made["attachment"]).read_bytes()
    # The restored installation is a working one: its migrations' bookkeeping came back with it.
    assert "database at head" in run(["db", "upgrade"], tmp_path, target).stdout

    # A second restore onto the same (now full) database is refused and changes nothing.
    again = run(["restore", str(archive)], tmp_path, target, check=False)
    assert again.returncode == 1 and "not empty" in again.stderr


@pytest.mark.slow
@pytest.mark.parametrize("databases", ["sqlite"], indirect=True)
def test_restore_refuses_another_key_and_a_damaged_backup(databases, tmp_path):
    source_url, source_dir = databases("source"), tmp_path / "source"
    populate(source_url, source_dir)
    archive = tmp_path / "backup"
    run(["backup", str(archive)], tmp_path, env(source_url, source_dir))
    refused = run(["backup", str(archive)], tmp_path, env(source_url, source_dir), check=False)
    assert refused.returncode == 1 and "not empty" in refused.stderr

    target_url, target_dir = databases("target"), tmp_path / "target"
    target_dir.mkdir()
    other_key = run(["restore", str(archive)], tmp_path, env(target_url, target_dir, secret=SECRET[::-1]),
                    check=False)
    assert other_key.returncode == 1 and "VRECEPTION_SECRET_KEY" in other_key.stderr
    segment = next(k for k in json.loads((archive / "backup.json").read_text())["recordings"] if "/p" in k)
    damaged = archive / "recordings" / segment
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\x00")
    broken = run(["restore", str(archive)], tmp_path, env(target_url, target_dir), check=False)
    assert broken.returncode == 1 and "damaged" in broken.stderr
    # Checked before anything was written: no database file, no recordings.
    assert not (target_dir / "vreception.db").exists() and not (target_dir / "recordings").exists()
