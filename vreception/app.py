"""The application factory: settings, database, and the routers of web/ (and later signaling, media)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from vreception import __version__
from vreception.config import Settings, get_settings
from vreception.db import Database


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the ASGI app; refuses a placeholder secret in production."""
    settings = settings or get_settings()
    secret = settings.effective_secret_key()
    db = database or Database(settings.effective_database_url)

    import web
    from web import errors
    from web.api import router as api_router
    from web.pages import router as page_router

    app = FastAPI(title="vreception", version=__version__,
                  description="信访视频接访平台 — remote video reception of petitions and remote hearings.")
    app.state.settings = settings
    app.state.secret = secret
    app.state.db = db
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz():
        """Liveness and database reachability."""
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # any driver error means the database is not reachable
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return {"status": "ok"}

    app.include_router(api_router)
    app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=Path(web.__file__).parent / "static"), name="static")
    return app
