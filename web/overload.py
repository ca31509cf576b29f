"""Admission under load: a bounded number of requests at once, threads and connections sized with it, 503 beyond."""

from __future__ import annotations

import os
from dataclasses import dataclass

import anyio
from anyio.lowlevel import RunVar
from fastapi import FastAPI, Request
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vreception.config import Settings
from vreception.db import Database
from vreception.errors import DomainError
from web.errors import domain_error

# Threads beyond the admitted requests' own: static files and other short work that never waits on the database.
SPARE_THREADS = 8
# The health check's own threads (and connections), so that a full queue never delays it.
HEALTH_THREADS = 2
# A request still waiting for a connection after this long is answered 503 (the sizes below make it rare).
POOL_WAIT_S = 10
RETRY_AFTER_S = 5
# Paths that are never queued: liveness must answer while the app is saturated; files need no database.
UNQUEUED = ("/healthz", "/static/")
_health_limiter: RunVar[anyio.CapacityLimiter] = RunVar("vreception_health_threads")


class Overloaded(DomainError):
    """More requests than the server takes at once (503 overloaded, with Retry-After)."""

    code = "overloaded"
    status = 503


@dataclass(frozen=True)
class Capacity:
    """How many requests the app works on at once, and the threads and connections sized with it."""

    requests: int
    threads: int
    connections: int


def capacity(settings: Settings) -> Capacity:
    """Sizes under which no admitted request waits for a thread or a connection that cannot come free.

    Each admitted request holds at most one worker thread at a time, and the threads outnumber the
    requests; each holds at most one connection, and the connections outnumber the requests plus
    every other thread that can take one (asyncio's executor for calls and jobs, the health check).
    """
    requests = settings.max_concurrent_requests
    executor = min(32, (os.cpu_count() or 1) + 4)  # asyncio's default executor size
    return Capacity(requests, requests + SPARE_THREADS, requests + executor + HEALTH_THREADS)


def database_answers(*, db: Database) -> bool:
    """Whether the database answers a trivial query (as a read: it takes no lock)."""
    try:
        with db.reader.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:  # any driver error means the database is not reachable
        return False
    return True


def health_threads() -> anyio.CapacityLimiter:
    """The health check's threads on the running event loop."""
    try:
        return _health_limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(HEALTH_THREADS)
        _health_limiter.set(limiter)
        return limiter


def guard_against_overload(app: FastAPI, settings: Settings, sizes: Capacity) -> None:
    """Admit a bounded number of requests; answer the rest, and a busy database, with 503 + Retry-After."""
    app.add_middleware(AdmissionGuard, sizes=sizes, queued=settings.max_queued_requests,
                       wait_s=settings.queue_timeout_seconds)
    app.add_exception_handler(PoolTimeout, busy_database)
    app.add_exception_handler(OperationalError, busy_database)


async def overloaded(request: Request):
    """The 503 overloaded answer (JSON, or the error page for a browser), with Retry-After."""
    response = await domain_error(request, Overloaded("error.overloaded"))
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def busy_database(request: Request, exc: Exception):
    """A pool that stayed exhausted, or a lock held too long (SQLite's, a PostgreSQL row's): 503; other errors 500."""
    if isinstance(exc, OperationalError) and not lock_waited_out(exc):
        raise exc
    return await overloaded(request)


def lock_waited_out(exc: OperationalError) -> bool:
    """Whether EXC is SQLite's busy timeout or PostgreSQL's lock timeout (55P03)."""
    return "database is locked" in str(exc.orig) or getattr(exc.orig, "sqlstate", None) == "55P03"


class AdmissionGuard:
    """At most SIZES.requests HTTP requests inside the app at once; a bounded queue waits briefly, the rest get 503."""

    def __init__(self, app: ASGIApp, *, sizes: Capacity, queued: int, wait_s: float):
        self.app, self.sizes, self.queued, self.wait_s = app, sizes, queued, wait_s
        self._slots: RunVar[anyio.CapacityLimiter] = RunVar("vreception_admission")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNQUEUED):
            await self.app(scope, receive, send)
            return
        slots, ticket = self.slots(), object()
        if not await self.admit(slots, ticket):
            response = await overloaded(Request(scope))
            await response(scope, receive, send)
            return
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                slots.release_on_behalf_of(ticket)

        async def send_and_release(message: Message) -> None:
            # Once the response starts, the request's transaction has ended (DbSession's scope is
            # "function"): a slow download must not keep others out.
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            release()

    def slots(self) -> anyio.CapacityLimiter:
        """The admission slots of the running event loop; its worker threads are sized with them."""
        try:
            return self._slots.get()
        except LookupError:
            anyio.to_thread.current_default_thread_limiter().total_tokens = self.sizes.threads
            limiter = anyio.CapacityLimiter(self.sizes.requests)
            self._slots.set(limiter)
            return limiter

    async def admit(self, slots: anyio.CapacityLimiter, ticket: object) -> bool:
        """Whether TICKET got a slot, waiting in a bounded queue for a bounded time."""
        if slots.available_tokens < 1 and slots.statistics().tasks_waiting >= self.queued:
            return False
        with anyio.move_on_after(self.wait_s):
            await slots.acquire_on_behalf_of(ticket)
            return True
        return False
