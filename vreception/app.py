"""The application factory: settings, database, and the routers of web/ (and later signaling, media)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from vreception import __version__, audit
from vreception.cases import deadlines
from vreception.cases.identity import Protector
from vreception.config import Settings, get_settings
from vreception.db import Database, pool_options
from vreception.ratelimit import make_failures
from vreception.tasks import MAX_ATTACHMENTS
from web.limits import body_limit
from web.overload import POOL_WAIT_S, capacity, database_answers, guard_against_overload, health_threads


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the ASGI app; refuses a placeholder secret in production."""
    settings = settings or get_settings()
    secret = settings.effective_secret_key()
    sizes = capacity(settings)
    db = database or Database(settings.effective_database_url, **pool_options(sizes.connections, POOL_WAIT_S))
    if database is None or not database.has_audit_key:
        db.use_audit_key(audit.key_from_secret(secret))
    deadlines.use_time_zone(settings.time_zone)

    import web
    from scheduling.jobs import JOBS as SCHEDULING_JOBS
    from scheduling.policy import policy_from
    from vreception import jobs
    from web import docs, errors
    from web.api import router as api_router
    from web.pages import router as page_router

    job_list = list(jobs.CORE_JOBS) + SCHEDULING_JOBS

    from web.calls.endpoint import router as call_router
    from web.calls.service import CallService, SharedStateUnavailable

    calls = CallService(db=db, secret=secret, settings=settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await calls.check_shared_state()  # a configured Redis that does not answer stops the start, clearly
        runner = None
        if settings.job_interval_seconds > 0:
            runner = asyncio.create_task(jobs.loop(settings, job_list, db=db))
        # What the start built (routes, models, schemas, templates: some 360,000 objects) is kept out of the collector's
        # full passes: each walked them all, 180-330 ms on a 2-core machine inside whichever request set it off (the
        # p95 of every page of the scale bench). Unfrozen at shutdown, so that an app built and dropped (tests) is
        # collected.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            if runner is not None:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            await calls.close()

    app = FastAPI(title="vreception", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="信访视频接访平台 — remote video reception of petitions and remote hearings.")
    app.state.jobs = job_list
    app.state.calls = calls
    app.state.settings = settings
    app.state.policy = policy_from(settings)
    app.state.secret = secret
    app.state.db = db
    app.state.protector = Protector(secret)
    app.state.login_attempts = make_failures(settings.redis_url, settings.login_failures_per_client,
                                             settings.lookup_window_minutes * 60)
    app.state.lookup_failures = make_failures(settings.redis_url, settings.lookup_failures_allowed,
                                              settings.lookup_window_minutes * 60)
    # Before errors.install, so that its headers middleware also wraps the guard's 503s.
    guard_against_overload(app, settings, sizes)
    app.add_middleware(body_limit, max_upload_bytes=settings.max_upload_bytes, max_files=MAX_ATTACHMENTS + 1,
                       default_language=settings.default_language)
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> JSONResponse:
        """Liveness and database reachability; never queued behind other requests."""
        if not await anyio.to_thread.run_sync(partial(database_answers, db=db), limiter=health_threads()):
            return JSONResponse({"status": "unavailable"}, status_code=503)
        try:
            await calls.check_shared_state()
        except SharedStateUnavailable:
            return JSONResponse({"status": "unavailable", "redis": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.include_router(api_router)
    app.include_router(call_router)
    app.include_router(page_router)
    docs.install(app)  # /docs and /redoc from vendored files, never a CDN
    app.mount("/static", StaticFiles(directory=Path(web.__file__).parent / "static"), name="static")
    return app
