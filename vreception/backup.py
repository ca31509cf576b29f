"""Backup and restore of an installation: the database, the recordings' stored files and the data directory's files.

A backup directory holds `backup.json` (what is in it, with every file's sha256), the database (`database.dump`,
pg_dump's custom format, or `database.sqlite`, a copy made with SQLite's online backup API), `recordings/<key>`
(every recording's manifest; its media and segments too when the storage is local; an S3 bucket keeps its own
copies) and `files/<path>` (attachments, the signed audit checkpoint). The secret key is never in it: a restore
needs the installation's VRECEPTION_SECRET_KEY and refuses another one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import URL, make_url

from vreception import __version__

if TYPE_CHECKING:
    from vreception.config import Settings

FORMAT = "vreception-backup/1"
MANIFEST = "backup.json"
# Data-directory entries that are not data: the database itself, the dev key, caches, the recordings (copied
# through their storage) and files being written.
SKIPPED = ("recordings", "evidence-cache", "secret.key")


class Storage(Protocol):
    """What a backup needs of the recordings' storage (recordings.storage's backends; the CLI passes one)."""

    name: str

    def put(self, key: str, source: Path) -> None: ...

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes: ...

    def size(self, key: str) -> int: ...

    def exists(self, key: str) -> bool: ...

    def local_file(self, key: str) -> Path | None: ...


class BackupError(RuntimeError):
    """A backup or restore cannot go on; nothing (more) was changed."""


@dataclass
class Summary:
    """What a backup holds or a restore brought back."""

    database: str
    revision: str | None
    recording_files: int = 0
    data_files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)


def sha256_file(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a file."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def key_check(secret: str) -> str:
    """A fingerprint of the secret key (not the key): a restore refuses a backup made under another key."""
    return hmac.new(secret.encode(), b"vreception-backup-key-check", hashlib.sha256).hexdigest()[:16]


def _backend(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("postgresql", "sqlite"):
        raise BackupError(f"cannot back up a {name} database (PostgreSQL and SQLite only)")
    return name


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for pg_dump/pg_restore and the environment carrying its password (never on a command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                       database=parsed.database, query=parsed.query)
    return plain.render_as_string(hide_password=False), env


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database page by page with its online backup API (consistent while others write)."""
    with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as writing:
        reading.backup(writing)


def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return str(value) if value is not None else None
    finally:
        engine.dispose()


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _recording_keys(url: str, local: bool) -> list[str]:
    """The stored files of every recording: manifests, and the media and segments too when LOCAL."""
    from vreception.models.recordings import Recording, RecordingSegment

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            keys = [k for k in connection.scalars(select(Recording.manifest_key)) if k]
            if local:
                keys += [k for k in connection.scalars(select(Recording.media_key)) if k]
                keys += list(connection.scalars(select(RecordingSegment.key)))
    finally:
        engine.dispose()
    return sorted(set(keys))


def _data_files(data_dir: Path, database_file: Path | None) -> list[Path]:
    """Files of the data directory worth keeping (attachments, the audit checkpoint), relative to it."""
    if not data_dir.is_dir():
        return []
    database = database_file.resolve() if database_file is not None else None
    found = []
    for path in sorted(data_dir.rglob("*")):
        relative = path.relative_to(data_dir)
        if not path.is_file() or relative.parts[0] in SKIPPED or path.name.endswith((".part", "-wal", "-shm",
                                                                                       "-journal")):
            continue
        if path.resolve() == database:
            continue
        found.append(relative)
    return found


def _copy(source: Path, target: Path) -> dict[str, Any]:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    digest, size = sha256_file(target)
    return {"sha256": digest, "bytes": size}


def backup(settings: Settings, target: Path, *, storage: Storage) -> Summary:
    """Write a backup of the installation SETTINGS describe (its recordings in STORAGE) into the new or empty
    directory TARGET."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: a backup goes into a new directory")
    url = settings.effective_database_url
    kind = _backend(url)
    target.mkdir(parents=True, exist_ok=True)
    summary = Summary(database=kind, revision=_revision(url))
    # The database first: every file its rows name was stored before the dump and never changes afterwards.
    database_file = None
    if kind == "postgresql":
        uri, env = _libpq(url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target / 'database.dump'}",
              f"--dbname={uri}"], env)
        dump = target / "database.dump"
    else:
        database_file = _sqlite_path(url)
        if not database_file.exists():
            raise BackupError(f"no database at {database_file}")
        dump = target / "database.sqlite"
        _sqlite_copy(database_file, dump)
    database_digest, database_bytes = sha256_file(dump)
    summary.bytes += database_bytes
    recordings: dict[str, Any] = {}
    for key in _recording_keys(url, storage.name == "local"):
        copied = target / "recordings" / key
        try:
            local = storage.local_file(key)
            if local is not None:
                recordings[key] = _copy(local, copied)
            else:
                copied.parent.mkdir(parents=True, exist_ok=True)
                copied.write_bytes(storage.read(key))
                digest, size = sha256_file(copied)
                recordings[key] = {"sha256": digest, "bytes": size}
        except Exception:  # a file purged meanwhile, or unreadable: said in the summary, not silently skipped
            summary.missing.append(f"recordings/{key}")
            continue
        summary.bytes += recordings[key]["bytes"]
    data_dir = Path(settings.data_dir)
    files: dict[str, Any] = {}
    for relative in _data_files(data_dir, database_file):
        files[relative.as_posix()] = _copy(data_dir / relative, target / "files" / relative)
        summary.bytes += files[relative.as_posix()]["bytes"]
    summary.recording_files, summary.data_files = len(recordings), len(files)
    document = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": __version__,
        "database": {"kind": kind, "file": dump.name, "sha256": database_digest, "bytes": database_bytes,
                     "revision": summary.revision},
        "key_check": key_check(settings.effective_secret_key()),
        "storage": storage.name,
        "recordings": recordings,
        "files": files,
        "missing": summary.missing,
    }
    (target / MANIFEST).write_text(json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True))
    return summary


def _load(source: Path) -> dict[str, Any]:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{source} holds no {MANIFEST}: not a vreception backup")
    document: dict[str, Any] = json.loads(path.read_text())
    if document.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown format {document.get('format')!r}")
    return document


def _check(path: Path, expected: dict[str, Any]) -> None:
    digest, size = sha256_file(path)
    if digest != expected["sha256"] or size != expected["bytes"]:
        raise BackupError(f"{path} does not match its hash in {MANIFEST}: the backup is damaged")


def _database_is_empty(url: str, kind: str) -> bool:
    if kind == "sqlite" and not _sqlite_path(url).exists():
        return True
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return not inspect(connection).get_table_names()
    finally:
        engine.dispose()


def _put(storage: Storage, key: str, source: Path, expected: dict[str, Any]) -> bool:
    """Store SOURCE under KEY unless the same bytes are already there; False when they were."""
    if storage.exists(key):
        local = storage.local_file(key)
        if local is not None:
            same = sha256_file(local) == (expected["sha256"], expected["bytes"])
        else:
            same = storage.size(key) == expected["bytes"] and hashlib.sha256(storage.read(key)).hexdigest() \
                == expected["sha256"]
        if not same:
            raise BackupError(f"the storage already holds a different {key}: restore onto fresh storage")
        return False
    with tempfile.TemporaryDirectory() as scratch:  # put() consumes its source
        staged = Path(scratch) / "object"
        shutil.copyfile(source, staged)
        storage.put(key, staged)
    return True


def restore(settings: Settings, source: Path, *, storage: Storage) -> Summary:
    """Bring the backup in SOURCE back onto the empty database SETTINGS name, the recordings' STORAGE and the
    data directory."""
    document = _load(source)
    if document["key_check"] != key_check(settings.effective_secret_key()):
        raise BackupError("VRECEPTION_SECRET_KEY is not the key of the backed-up installation: its personal data and "
                          "audit chain could not be read; set the original key and run restore again")
    url = settings.effective_database_url
    kind = _backend(url)
    database = document["database"]
    if database["kind"] != kind:
        raise BackupError(f"the backup holds a {database['kind']} database; VRECEPTION_DATABASE_URL is {kind}")
    if not _database_is_empty(url, kind):
        raise BackupError("the target database is not empty: restore onto a freshly created database")
    # Everything is checked before anything is written.
    _check(source / database["file"], database)
    for key, expected in document["recordings"].items():
        _check(source / "recordings" / key, expected)
    for name, expected in document["files"].items():
        _check(source / "files" / name, expected)
    data_dir = Path(settings.data_dir)
    for name, expected in document["files"].items():
        existing = data_dir / name
        if existing.exists() and sha256_file(existing) != (expected["sha256"], expected["bytes"]):
            raise BackupError(f"{existing} already exists with other content: restore into a fresh data directory")
    summary = Summary(database=kind, revision=database["revision"], missing=list(document.get("missing", [])))
    if kind == "postgresql":
        uri, env = _libpq(url)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={uri}", str(source / database["file"])], env)
    else:
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source / database["file"], path)
    summary.bytes += database["bytes"]
    for key, expected in document["recordings"].items():
        _put(storage, key, source / "recordings" / key, expected)
        summary.recording_files += 1
        summary.bytes += expected["bytes"]
    for name, expected in document["files"].items():
        target = data_dir / name
        if not target.exists():
            _copy(source / "files" / name, target)
        summary.data_files += 1
        summary.bytes += expected["bytes"]
    return summary
