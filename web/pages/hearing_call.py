"""The chair's hearing controls beside the video: 回避 said aloud at the opening, its decision, the panel's opinions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool

from scheduling import hearing_booking
from vreception.hearings import access, agenda, queries, recusals
from vreception.hearings.panel import sitting
from vreception.i18n import translate
from vreception.models.hearings import Hearing
from web.deps import DbSession, language
from web.pages.support import User, check_csrf, policy
from web.settings import AppSettings

router = APIRouter()
MAX_REASON = 4000


class RecusalIn(BaseModel):
    against_id: int
    requested_by: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=MAX_REASON)


class DecisionIn(BaseModel):
    granted: StrictBool
    reason: str = Field(default="", max_length=MAX_REASON)


def _state(request: Request, principal, hearing: Hearing, sizes, *, db) -> dict:
    """The 回避 requests (which ones the principal decides), who may be named, and whether the panel is complete."""
    lang = language(request)
    view = queries.hearing_out(hearing, db=db)
    names = {m.person_id: m.name for m in view.panel}
    roles = {m.person_id: "call.hearing.as_member" for m in view.panel if not m.withdrawn}
    for ref, key in ((view.recorder, "call.hearing.as_recorder"), (view.chair, "call.hearing.as_chair")):
        if ref is not None:
            names[ref.id], roles[ref.id] = ref.name, key
    short = agenda.short_of(hearing, sizes)
    return {
        "recusals": [{**r.model_dump(mode="json"), "decides": r.granted is None and access.decides_recusal(
            principal, hearing, recusals.load(hearing, r.id), db=db)} for r in view.recusals],
        "challenged": [{"id": p, "name": names.get(p, ""), "as": translate(roles[p], lang)}
                       for p in sorted(recusals.challenged(hearing)) if p in roles],
        "open": hearing.state in recusals.OPEN_TO_RECUSAL,
        "short": translate(short.message_key, lang, **short.params) if short is not None else None,
    }


@router.get("/hearings/{hearing_id}/call/recusals")
def recusal_state(hearing_id: int, request: Request, principal: User, db: DbSession, settings: AppSettings):
    """The hearing's 回避 requests for whoever writes them down (the chair, or the office)."""
    hearing = access.load_visible(principal, hearing_id, db=db)
    access.require_recusal_recorder(principal, hearing, db=db)
    return JSONResponse(_state(request, principal, hearing, settings.hearing_panel_sizes, db=db))


@router.post("/hearings/{hearing_id}/call/recusals")
def request_in_call(hearing_id: int, body: RecusalIn, request: Request, principal: User, db: DbSession,
                    settings: AppSettings):
    """A 回避 request said aloud at the opening, written down from the call page."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    hearing = access.load_visible(principal, hearing_id, db=db, lock=True)
    access.require_recusal_recorder(principal, hearing, db=db)
    recusals.request(db=db, hearing=hearing, against_id=body.against_id, requested_by=body.requested_by,
                     reason=body.reason, actor_id=principal.person_id)
    return JSONResponse(_state(request, principal, hearing, settings.hearing_panel_sizes, db=db), status_code=201)


@router.post("/hearings/{hearing_id}/call/recusals/{recusal_id}/decision")
def decide_in_call(hearing_id: int, recusal_id: int, body: DecisionIn, request: Request, principal: User,
                   db: DbSession, settings: AppSettings):
    """The chair grants or refuses a 回避 request, with the reason, without leaving the call."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    hearing = access.load_visible(principal, hearing_id, db=db, lock=True)
    recusal = recusals.load(hearing, recusal_id)
    access.require_recusal_decider(principal, hearing, recusal, db=db)
    hearing_booking.decide_recusal(db=db, policy=policy(request), hearing=hearing, recusal=recusal,
                                   granted=body.granted, reason=body.reason, actor_id=principal.person_id)
    return JSONResponse(_state(request, principal, hearing, settings.hearing_panel_sizes, db=db))


@router.get("/hearings/{hearing_id}/call/opinions")
def opinions(hearing_id: int, principal: User, db: DbSession):
    """Each sitting member's opinion once given, for the chair and the recorder only."""
    hearing = access.load_visible(principal, hearing_id, db=db)
    access.require_opinion_reader(principal, hearing)
    names = {m.person_id: m.name for m in queries.hearing_out(hearing, db=db).panel}
    return JSONResponse({"opinions": [
        {"person_id": m.person_id, "name": names.get(m.person_id, ""), "opinion": m.opinion,
         "at": m.opinion_at.isoformat() if m.opinion_at is not None else None} for m in sitting(hearing)]})
