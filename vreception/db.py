"""Engine, session factory and declarative Base; SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The one declarative base: every table shares its metadata."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without zone (portable) and hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    """Now, aware, in UTC (the clock module may move it in tests)."""
    from vreception.clock import now

    return now()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:  # DB-API objects: untyped
    # The driver's own transaction handling is turned off so that we can BEGIN IMMEDIATE:
    # a deferred transaction that reads and then writes fails at once under WAL when
    # another writer got in between, instead of waiting for the lock.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# An execution option of the reader engine: its transactions begin DEFERRED on SQLite.
READS_ONLY = "vreception_reads_only"


def _sqlite_begin(conn: Connection) -> None:
    # Under WAL a deferred transaction that only reads takes no lock: readers never wait for a
    # writer nor block one. Everything else keeps BEGIN IMMEDIATE (see _sqlite_pragmas). A reader
    # that writes after all (a GET that audits) fails whole if another writer committed first; the
    # app answers that 503 overloaded, to be retried.
    deferred = conn.get_execution_options().get(READS_ONLY, False)
    conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


# A PostgreSQL statement waiting longer than this for a row lock fails (SQLSTATE 55P03) instead of
# waiting forever: a request that waits on the event loop (an async route) could otherwise wait for
# a lock whose holder needs that very loop to commit.
LOCK_TIMEOUT_MS = 10_000


def _postgres_lock_timeout(dbapi_connection: Any, _record: Any) -> None:  # DB-API objects: untyped
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
        # JIT compiles the plan of every large estimate anew (70 ms measured on a 160 ms dashboard count at 100k
        # matters) and pays off only for long analytic queries, which a page must not run.
        cursor.execute("SET jit = off")
        # psycopg prepares a statement run five times on one connection, and PostgreSQL may then plan it once for any
        # parameters: in such a generic plan a subtree filter `path LIKE $1 || '%'` cannot use its pattern index (the
        # prefix is unknown), and a county's matter list became a scan of the million (2 s instead of 60 ms).
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for URL with the pragmas and pooling each backend needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:  # an in-memory database lives in one connection: its pool takes no sizes
            for option in ("pool_size", "max_overflow", "pool_timeout"):
                kwargs.pop(option, None)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        event.listen(engine, "connect", _postgres_lock_timeout)
    return engine


def pool_options(connections: int, wait_s: float) -> dict[str, Any]:
    """Engine options for a pool of at most CONNECTIONS that gives up after WAIT_S seconds."""
    kept = min(10, connections)  # the rest are opened under load and closed when returned
    return {"pool_size": kept, "max_overflow": connections - kept, "pool_timeout": wait_s}


# Where a session finds the audit chain's key (vreception.audit reads it from Session.info).
AUDIT_KEY = "audit_key"


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        # The same pool; only how a transaction begins differs (deferred on SQLite).
        self.reader = self.engine.execution_options(**{READS_ONLY: True})
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def use_audit_key(self, key: bytes | None) -> None:
        """Key the audit chain of every session from now on (the key lives outside the database)."""
        self.sessionmaker.configure(info={AUDIT_KEY: key})

    @property
    def has_audit_key(self) -> bool:
        """Whether this handle's sessions key the audit chain."""
        return bool((self.sessionmaker.kw.get("info") or {}).get(AUDIT_KEY))

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def session(self, *, reads_only: bool = False) -> Session:
        """A new session; READS_ONLY ones take no write lock on SQLite until they write."""
        return self.sessionmaker(bind=self.reader) if reads_only else self.sessionmaker()

    @staticmethod
    def finish(*, db: Session, commit: bool) -> None:
        """Commit (or roll back) SESSION and give its connection back to the pool."""
        try:
            if commit:
                db.commit()
            else:
                db.rollback()
        finally:
            db.close()

    @contextmanager
    def transaction(self, *, reads_only: bool = False) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self.session(reads_only=reads_only)
        try:
            yield session
        except BaseException:
            self.finish(db=session, commit=False)
            raise
        self.finish(db=session, commit=True)

    def dispose(self) -> None:
        self.engine.dispose()


def one_writer(key: int, *, db: Session) -> bool:
    """Wait for the transaction's advisory lock KEY on PostgreSQL (one writer of a stored count at a time, across
    processes); False, without waiting, on SQLite, whose writers are one at a time already."""
    if db.get_bind().dialect.name != "postgresql":
        return False
    db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    return True
