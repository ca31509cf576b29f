"""Requests from the petitioner online (网上信访), JSON: the public side (SMS codes, 复查/复核, 网上预约, online
petitions) under /public/online, and the coordinators' queue under /online-requests."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from vreception.cases import public
from vreception.cases.deadlines import local_day
from vreception.cases.public import RateLimited
from vreception.clock import now
from vreception.errors import DomainError, Invalid
from vreception.models import Matter
from vreception.models.online import OnlineKind, OnlineState
from vreception.online import access, intake, limits, queries, reception, review, texting, verification
from vreception.online.errors import NoPhone
from vreception.online.views import OnlineRequestOut
from vreception.paging import Page
from web.deps import ApiPrincipal, DbSession
from web.downloads import file_download
from web.openapi import responses
from web.settings import AppSettings, client_address

router = APIRouter(prefix="/online-requests", tags=["online"])
public_router = APIRouter(prefix="/public/online", tags=["online"])
FOUND = "not_found: no such number, or a wrong query code"
CODES = "invalid, code_rejected (a wrong, expired, used or unknown SMS code), window_closed"


# ---- the public side -------------------------------------------------------------------------------------------------

class MatterCodeIn(BaseModel):
    purpose: Literal["review", "reception"]
    number: str = Field(max_length=40)
    code: str = Field(max_length=32, description="the matter's query code (查询码)")


class PhoneIn(BaseModel):
    phone: str = Field(max_length=20)


class CodeSentOut(BaseModel):
    """A code went to the phone ending in PHONE_TAIL; send CHALLENGE back with it before EXPIRES_AT."""

    challenge: str
    phone_tail: str
    expires_at: datetime


class VerifiedIn(BaseModel):
    number: str = Field(max_length=40)
    code: str = Field(max_length=32)
    challenge: str = Field(max_length=64)
    sms_code: str = Field(max_length=12)


class ReviewOut(BaseModel):
    """The 复查 (request_review) or 复核 (request_recheck) request, at the body above, arrived at REQUESTED_AT."""

    number: str
    action: str
    state: str
    body_name: str
    requested_at: datetime


class ReceptionIn(VerifiedIn):
    days: list[date] = Field(min_length=1, max_length=reception.MAX_DAYS)
    room_id: int
    note: str = Field(default="", max_length=reception.MAX_NOTE)


class ReceivedOut(BaseModel):
    """The request is in the coordinators' queue since RECEIVED_AT."""

    id: int
    received_at: datetime


class RoomOut(BaseModel):
    id: int
    name: str


class PlaceOut(BaseModel):
    """A county (where an online petition is sent) and the places in it."""

    county_id: int
    county_name: str
    places: list[RoomOut]


def _limits(request: Request) -> limits.OnlineLimits:
    return limits.of_app(request.app.state, request.app.state.settings.redis_url)


def _matter(request: Request, number: str, code: str, *, db: Session) -> Matter:
    return public.find_matter(db=db, protector=request.app.state.protector, failures=request.app.state.lookup_failures,
                              number=number.strip(), code=code, client=client_address(request))


def _verified(request: Request, *, db: Session, purpose: str, challenge: str, sms_code: str,
              matter_id: int | None = None, phone: str | None = None):
    """The SMS code checked; a refused try still counts (committed before the error answer)."""
    try:
        return verification.check_code(db=db, protector=request.app.state.protector, challenge=challenge, code=sms_code,
                                       purpose=purpose, matter_id=matter_id, phone=phone)
    except DomainError:
        db.commit()
        raise


@public_router.post("/codes", response_model=CodeSentOut, responses=responses(
    404, 409, 422, 429, s404=FOUND, s409="illegal_transition", s422="invalid, no_phone, window_closed"))
def send_matter_code(body: MatterCodeIn, request: Request, db: DbSession) -> CodeSentOut:
    """Send an SMS code to the matter's registered phone, for a 复查/复核 request or a reception request (the
    number and query code first; a wrong one answers as a missing number)."""
    protector = request.app.state.protector
    matter = _matter(request, body.number, body.code, db=db)
    if body.purpose == "review":
        review.window_of(matter, now())
    found = texting.matter_phone(matter, protector)
    if found is None:
        raise NoPhone("online.error.no_phone")
    person, mobile = found
    sent = verification.send_code(db=db, protector=protector, limits=_limits(request), purpose=body.purpose,
                                  phone=mobile, client=client_address(request), matter_id=matter.id,
                                  petitioner_id=person.id)
    return CodeSentOut(challenge=sent.challenge, phone_tail=sent.phone_tail, expires_at=sent.expires_at)


@public_router.post("/intake/codes", response_model=CodeSentOut, responses=responses(422, 429))
def send_intake_code(body: PhoneIn, request: Request, db: DbSession) -> CodeSentOut:
    """Send an SMS code to the phone an online petition gives (the same answer whoever the number belongs to)."""
    sent = verification.send_code(db=db, protector=request.app.state.protector, limits=_limits(request),
                                  purpose="intake", phone=body.phone, client=client_address(request))
    return CodeSentOut(challenge=sent.challenge, phone_tail=sent.phone_tail, expires_at=sent.expires_at)


@public_router.post("/review", response_model=ReviewOut, responses=responses(
    404, 409, 422, 429, s404=FOUND, s409="illegal_transition", s422=CODES))
def ask_review(body: VerifiedIn, request: Request, db: DbSession, settings: AppSettings) -> ReviewOut:
    """Ask for 复查 (after the reply was served) or 复核 (after the review opinion was served) within 30 days: it
    lands at the body one level up, received now."""
    matter = _matter(request, body.number, body.code, db=db)
    row = _verified(request, db=db, purpose="review", challenge=body.challenge, sms_code=body.sms_code,
                    matter_id=matter.id)
    verification.consume(row, db=db)
    done = review.request(db=db, matter=matter, protector=request.app.state.protector,
                          moves_off_holidays=settings.deadline_moves_off_holidays)
    return ReviewOut(number=matter.number, action=done.action, state=matter.state.value, body_name=done.body_name,
                     requested_at=done.requested_at)


@public_router.get("/rooms", response_model=list[RoomOut], responses=responses(404, 429, s404=FOUND))
def rooms_near(number: Annotated[str, Query(max_length=40)], code: Annotated[str, Query(max_length=32)],
               request: Request, db: DbSession) -> list[RoomOut]:
    """The video rooms near the petitioner (in the subtree of the matter's origin), for a reception request."""
    matter = _matter(request, number, code, db=db)
    return [RoomOut(id=r.id, name=r.name) for r in reception.rooms_near(matter, db=db)]


@public_router.post("/reception", status_code=201, response_model=ReceivedOut, responses=responses(
    404, 409, 422, 429, s404=FOUND, s409="conflict: a request of the matter waits already", s422=CODES))
def ask_reception(body: ReceptionIn, request: Request, db: DbSession, settings: AppSettings) -> ReceivedOut:
    """网上预约: ask for a video reception (one to three preferred days, a room near the petitioner, a note)."""
    matter = _matter(request, body.number, body.code, db=db)
    row = _verified(request, db=db, purpose="reception", challenge=body.challenge, sms_code=body.sms_code,
                    matter_id=matter.id)
    verification.consume(row, db=db)
    made = reception.ask(db=db, matter=matter, days=body.days, room_id=body.room_id, note=body.note,
                         today=local_day(now()))
    return ReceivedOut(id=made.id, received_at=made.received_at)


@public_router.get("/places", response_model=list[PlaceOut])
def places(db: DbSession) -> list[PlaceOut]:
    """The counties an online petition may be sent to, and the places in each."""
    return [PlaceOut(county_id=p.county.id, county_name=p.county.name,
                     places=[RoomOut(id=n.id, name=n.name) for n in p.places]) for p in intake.places(db=db)]


@public_router.post("/intake", status_code=201, response_model=ReceivedOut, responses=responses(
    413, 415, 422, 429, s415="unsupported_type: a file that is not a PDF, PNG or JPEG", s422=CODES))
def submit_intake(request: Request, db: DbSession, settings: AppSettings,
                  challenge: Annotated[str, Form(max_length=64)], sms_code: Annotated[str, Form(max_length=12)],
                  name: Annotated[str, Form(max_length=100)], id_number: Annotated[str, Form(max_length=18)],
                  phone: Annotated[str, Form(max_length=20)], county_id: Annotated[int, Form()],
                  address_node_id: Annotated[int, Form()], about: Annotated[str, Form(max_length=intake.MAX_ABOUT)],
                  demands: Annotated[str, Form(max_length=intake.MAX_DEMANDS)],
                  files: Annotated[list[UploadFile] | None, File()] = None) -> ReceivedOut:
    """网上信访: a new petition with up to five files (PDF, PNG or JPEG, each within the upload bound), the phone
    verified by SMS; it waits as a draft for the county's coordinators."""
    if not _limits(request).forms_per_client.attempt(f"online-intake:{client_address(request)}"):
        raise RateLimited("online.error.rate_limited")
    row = _verified(request, db=db, purpose="intake", challenge=challenge, sms_code=sms_code, phone=phone)
    uploads = _uploads(files or [], settings.max_upload_bytes)
    verification.consume(row, db=db)
    made = intake.submit(db=db, protector=request.app.state.protector, storage_dir=FilePath(settings.data_dir),
                         max_bytes=settings.max_upload_bytes, name=name, id_number=id_number, phone=phone,
                         county_id=county_id, address_node_id=address_node_id, about=about, demands=demands,
                         uploads=uploads)
    return ReceivedOut(id=made.id, received_at=made.received_at)


def _uploads(files: list[UploadFile], max_bytes: int) -> list[intake.Upload]:
    """The form's files, each read to one byte past the bound (empty file inputs left out)."""
    if len(files) > intake.MAX_FILES:
        raise Invalid("online.error.too_many_files", field="files", max=intake.MAX_FILES)
    return [intake.Upload(f.filename or "", f.file.read(max_bytes + 1)) for f in files if f.filename]


# ---- the coordinators' queue -----------------------------------------------------------------------------------------

class RefuseIn(BaseModel):
    reason: str = Field(max_length=reception.MAX_REASON)


class ApprovedOut(BaseModel):
    """The approved reception request, and the booking form prefilled for it."""

    request: OnlineRequestOut
    booking_url: str


class RegisterIn(BaseModel):
    """What the coordinator completes before registering an online petition (the draft's values by default)."""

    category: str = Field(max_length=32)
    handling_node_id: int | None = None
    origin_node_id: int | None = None
    summary: str | None = Field(default=None, max_length=intake.MAX_DEMANDS)
    facts: str | None = Field(default=None, max_length=intake.MAX_ABOUT)
    name: str | None = Field(default=None, max_length=100)
    id_number: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)


class RegisteredOut(BaseModel):
    """The registered matter (its query code goes to the petitioner by SMS; shown here once, as at the desk)."""

    request: OnlineRequestOut
    matter_id: int
    number: str
    query_code: str


@router.get("", response_model=Page[OnlineRequestOut], responses=responses(422))
def list_requests(principal: ApiPrincipal, db: DbSession, kind: OnlineKind | None = None,
                  state: OnlineState | None = OnlineState.waiting, limit: int | None = None,
                  cursor: str | None = None) -> Page[OnlineRequestOut]:
    """The online requests of the caller's queues (coordinators over the node they wait at), oldest first."""
    access.require_office_role(principal)
    return queries.queue(db=db, principal=principal, kind=kind, state=state, limit=limit, cursor=cursor)


@router.get("/{request_id}", response_model=OnlineRequestOut, responses=responses(404, s404="not_found"))
def get_request(request_id: int, principal: ApiPrincipal, db: DbSession) -> OnlineRequestOut:
    """One online request."""
    return queries.view(access.load_for_office(principal, request_id, db=db), db=db)


@router.post("/{request_id}/approve", response_model=ApprovedOut, responses=responses(
    404, 409, 422, s404="not_found", s409="already_answered", s422="invalid: not a reception request"))
def approve(request_id: int, principal: ApiPrincipal, db: DbSession) -> ApprovedOut:
    """Approve a reception request: book it with the booking form (prefilled), as any reception."""
    row = access.load_for_office(principal, request_id, db=db)
    reception.approve(db=db, request=row, actor_id=principal.person_id)
    return ApprovedOut(request=queries.view(row, db=db), booking_url=booking_url(row))


def booking_url(row) -> str:
    """The booking form of the request's matter, prefilled with its room, week and reason."""
    from urllib.parse import urlencode

    from vreception.i18n import translate

    return f"/matters/{row.matter_id}/book?" + urlencode(
        reception.booking_query(row, translate("online.booking_reason", id=row.id)))


@router.post("/{request_id}/refuse", response_model=OnlineRequestOut, responses=responses(
    404, 409, 422, s404="not_found", s409="already_answered"))
def refuse(request_id: int, body: RefuseIn, request: Request, principal: ApiPrincipal,
           db: DbSession) -> OnlineRequestOut:
    """Refuse a reception request or decline an online petition, with a reason sent to the petitioner by SMS."""
    row = access.load_for_office(principal, request_id, db=db)
    protector = request.app.state.protector
    if row.kind is OnlineKind.reception:
        reception.refuse(db=db, request=row, reason=body.reason, actor_id=principal.person_id, protector=protector)
    else:
        intake.decline(db=db, request=row, reason=body.reason, actor_id=principal.person_id, protector=protector)
    return queries.view(row, db=db)


@router.post("/{request_id}/register", status_code=201, response_model=RegisteredOut, responses=responses(
    404, 409, 422, s404="not_found, node_not_found", s409="already_answered"))
def register_draft(request_id: int, body: RegisterIn, request: Request, principal: ApiPrincipal, db: DbSession,
                   settings: AppSettings) -> RegisteredOut:
    """Register an online petition through the registration service (channel online, received when it arrived);
    its files become the matter's materials and the query code goes to the petitioner by SMS."""
    row = access.load_for_office(principal, request_id, db=db)
    protector = request.app.state.protector
    draft = intake.completion_of(db=db, request=row, protector=protector, actor_id=principal.person_id)
    completed = intake.Completed(
        handling_node_id=body.handling_node_id or draft.handling_node_id,
        origin_node_id=body.origin_node_id or draft.origin_node_id, category=body.category,
        summary=body.summary if body.summary is not None else draft.summary,
        facts=body.facts if body.facts is not None else draft.facts, name=body.name or draft.name,
        id_number=body.id_number or draft.id_number, phone=body.phone or draft.phone)
    access.require_office_over(principal, completed.handling_node_id, db=db)
    matter, code = intake.register_draft(db=db, request=row, completed=completed, protector=protector,
                                         storage_dir=FilePath(settings.data_dir), max_bytes=settings.max_upload_bytes,
                                         actor_id=principal.person_id, categories_file=settings.categories_file or None,
                                         moves_off_holidays=settings.deadline_moves_off_holidays)
    return RegisteredOut(request=queries.view(row, db=db), matter_id=matter.id, number=matter.number, query_code=code)


@router.get("/{request_id}/files/{sha256}", response_class=FileResponse, responses=responses(
    404, s404="not_found, material_not_found"))
def draft_file(request_id: int, sha256: Annotated[str, Path(max_length=64)], principal: ApiPrincipal,
               db: DbSession, settings: AppSettings) -> FileResponse:
    """A file of an online petition, for the coordinators of its county; every read is audited."""
    row = access.load_for_office(principal, request_id, db=db)
    meta, path = intake.read_file(db=db, request=row, sha256=sha256, storage_dir=FilePath(settings.data_dir),
                                  actor_id=principal.person_id)
    return file_download(path, meta["filename"])
