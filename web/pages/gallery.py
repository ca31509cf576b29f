"""The public gallery (旁听) of a public hearing: a watch-only page, no sign-in, no personal data.

`GET /gallery/{key}` only renders the page; the page asks `POST /gallery/{key}/token` for a seat (an anonymous
observer, capped at settings.gallery_max_viewers, kept across reloads by a seat token), its join token and the seat's
TURN credentials; the shown evidence comes from `GET /gallery/{key}/evidence`, which serves only the page shown to
everyone now.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from scheduling import gallery as seats
from scheduling.join import require_open
from vreception import evidence, turn
from vreception.errors import NotFound
from vreception.hearings.gallery import open_hearing, shown_now
from vreception.i18n import translate
from vreception.ratelimit import MemoryFailures
from web.deps import DbSession, language
from web.pages.support import check_csrf, policy
from web.settings import AppSettings, client_address
from web.templating import render

router = APIRouter()
# Seats are handed out slowly enough that a script cannot take the whole gallery at once: per client, and per
# hearing overall (a viewer told to wait retries; a reload keeps its seat and is not counted).
PER_CLIENT = MemoryFailures(allowed=3, window_s=60)
PER_HEARING = MemoryFailures(allowed=20, window_s=10)
# What the page says, for its script (everything else is in the template).
GALLERY_MESSAGES = [
    "call.gallery.waiting", "call.gallery.watching", "call.gallery.deliberating", "call.gallery.ended",
    "call.gallery.full", "call.gallery.retry", "call.agenda.none", "call.agenda.current", "call.reconnecting",
    "call.agenda.opening", "call.agenda.petitioner_states", "call.agenda.handler_answers",
    "call.agenda.cross_examination", "call.agenda.final_statements", "call.agenda.deliberation",
    "call.agenda.conclusion", "call.floor.holder", "call.floor.nobody", "evidence.page",
]


class SeatIn(BaseModel):
    seat: str = Field(default="", max_length=2000)


@router.get("/gallery/{key}")
def gallery_page(key: str, request: Request, db: DbSession):
    """The watch-only page of a public hearing (404 for an unknown key, a closed hearing or one that is over)."""
    open_hearing(key, db=db)
    lang = language(request)
    config = {"key": key, "iceServers": request.app.state.settings.ice_servers}
    return render(request, "gallery.html", gallery_config=config,
                  gallery_messages={k: translate(k, lang) for k in GALLERY_MESSAGES})


@router.post("/gallery/{key}/token")
def gallery_token(key: str, body: SeatIn, request: Request, db: DbSession, settings: AppSettings):
    """A gallery seat (the one the page kept, or a fresh one while seats remain) and its join token."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    booking, seat = _seat(request, key, body.seat, settings.gallery_max_viewers, db=db)
    token, expires, keep = seats.tokens_for(request.app.state.secret, policy(request), booking, seat)
    scheme = "wss" if request.url.scheme == "https" else "ws"
    # As the call page's token answer: the TURN relay's credentials are this seat's own, time-limited, fresh with
    # every token (a viewer behind a strict firewall receives the hearing through the relay).
    return JSONResponse({"ws_url": f"{scheme}://{request.url.netloc}/ws/sessions/{booking.id}?token={token}",
                         "expires_at": expires.isoformat(), "seat": keep, "participant_id": seat.id,
                         "ice_servers": turn.participant_ice_servers(settings, seat.id)})


def _seat(request: Request, key: str, seat_token: str, max_viewers: int, *, db):
    """The session and the viewer's seat: the one the page kept, or a fresh one (rate-limited, capped)."""
    hearing, booking = open_hearing(key, db=db)
    # A viewer's join would open the hearing's session: not before its call opens (409 session_not_open_yet).
    require_open(policy(request), booking)
    kept = seats.kept_seat(request.app.state.secret, booking, seat_token, db=db)
    if kept is not None:
        return booking, kept
    if not PER_CLIENT.attempt(f"{key}:{client_address(request)}") or not PER_HEARING.attempt(key):
        raise seats.GalleryFull("error.gallery_full", max=max_viewers)
    return booking, seats.take_seat(db=db, hearing=hearing, booking=booking, max_viewers=max_viewers)


@router.get("/gallery/{key}/evidence")
def gallery_evidence(key: str, db: DbSession, settings: AppSettings, item: str = "", page: int = 1):
    """The page of evidence shown to everyone now, and nothing else (404 otherwise)."""
    _, booking = open_hearing(key, db=db)
    if booking.matter_id is None or shown_now(booking.id, db=db) != (item, page) or \
            not evidence.was_prepared(db=db, session_id=booking.id, item=item):
        raise NotFound("error.evidence_not_prepared", field="item")
    data_dir = Path(settings.data_dir)
    source = evidence.resolve(db=db, matter_id=booking.matter_id, item=item, storage_dir=data_dir)
    image, media_type = evidence.render_page(source, page, data_dir / "evidence-cache")
    return Response(image, media_type=media_type,
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                             "Content-Disposition": "inline"})
