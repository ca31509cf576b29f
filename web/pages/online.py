"""Requests from the petitioner online (网上信访), as pages: 复查/复核 and 网上预约 from the lookup (number, query code
and an SMS code), an online petition with attachments (an SMS-verified phone), and the coordinators' queue."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from vreception.cases import categories
from vreception.cases.deadlines import local_day
from vreception.cases.public import RateLimited
from vreception.clock import now
from vreception.errors import DomainError, Forbidden, Invalid
from vreception.i18n import translate
from vreception.models import Matter, NodeKind
from vreception.models.online import OnlineKind
from vreception.online import access, intake, limits, queries, reception, review, texting, verification, views
from vreception.online.errors import NoPhone
from vreception.org.queries import office_nodes
from web.deps import DbSession, PagePrincipal, language
from web.downloads import file_download
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, find_matter, message
from web.pages.support import page as render_page
from web.settings import AppSettings, app_settings, client_address

router = APIRouter()


def _limits(request: Request) -> limits.OnlineLimits:
    return limits.of_app(request.app.state, app_settings(request).redis_url)


def _protector(request: Request):
    return request.app.state.protector


def _checked(request: Request, *, db, purpose: str, form, matter_id: int | None = None,
             phone: str | None = None):
    """The SMS code of the form checked; a refused try counts (the request commits, answering with the form)."""
    return verification.check_code(db=db, protector=_protector(request), challenge=forms.text(form, "challenge", 64),
                                   code=forms.text(form, "sms_code", 12), purpose=purpose, matter_id=matter_id,
                                   phone=phone)


def _send_matter_code(request: Request, matter: Matter, purpose: str, *, db) -> verification.Sent:
    found = texting.matter_phone(matter, _protector(request))
    if found is None:
        raise NoPhone("online.error.no_phone")
    person, mobile = found
    return verification.send_code(db=db, protector=_protector(request), limits=_limits(request), purpose=purpose,
                                  phone=mobile, client=client_address(request), matter_id=matter.id,
                                  petitioner_id=person.id)


def page(request: Request, name: str, principal, status_code: int = 200, **context):
    """A page of this module, with the catalog keys of the requests' kinds and states."""
    return render_page(request, name, principal, status_code=status_code, keys=views.KEYS, **context)


def _failed(request: Request, error: DomainError) -> dict:
    return {"error": message(request, error), "status_code": error.status}


# ---- 复查/复核 ---------------------------------------------------------------------------------------------------------

def _review_page(request: Request, principal, step: str, form=None, status_code: int = 200, **context):
    values = {k: forms.text(form, k, 64) for k in ("number", "code", "challenge")} if form is not None else {}
    return page(request, "online_review.html", principal, status_code=status_code, step=step, values=values,
                **context)


@router.get("/online/review")
def review_form(request: Request, principal: PagePrincipal):
    """Ask for 复查/复核: the matter number and query code first."""
    return _review_page(request, principal, "matter")


@router.post("/online/review/code")
def review_code(request: Request, form: forms.Posted, db: DbSession, principal: PagePrincipal):
    """Check the matter and its window, then send an SMS code to its registered phone."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    try:
        matter = find_matter(request, forms.text(form, "number", 40), forms.text(form, "code", 32), db=db)
        action, until = review.window_of(matter, now())
        sent = _send_matter_code(request, matter, "review", db=db)
    except DomainError as error:
        return _review_page(request, principal, "matter", form, **_failed(request, error))
    return _review_page(request, principal, "code", form, challenge=sent.challenge, sent=sent, action=action,
                        until=until)


@router.post("/online/review")
def review_submit(request: Request, form: forms.Posted, db: DbSession, principal: PagePrincipal,
                  settings: AppSettings):
    """With the SMS code: the request lands at the body one level up, received now."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    try:
        matter = find_matter(request, forms.text(form, "number", 40), forms.text(form, "code", 32), db=db)
        row = _checked(request, db=db, purpose="review", form=form, matter_id=matter.id)
    except DomainError as refused:
        return _review_page(request, principal, "code", form, **_failed(request, refused))

    def do():
        verification.consume(row, db=db)
        return review.request(db=db, matter=matter, protector=_protector(request),
                              moves_off_holidays=settings.deadline_moves_off_holidays)

    done, error = attempt(do, db=db)
    if error is not None:
        return _review_page(request, principal, "matter", form, **_failed(request, error))
    return _review_page(request, principal, "done", form, done=done, number=matter.number)


# ---- 网上预约 ---------------------------------------------------------------------------------------------------------

def _reception_page(request: Request, principal, step: str, form=None, status_code: int = 200, **context):
    names = ("number", "code", "challenge", "room_id", "note", *(f"day{i}" for i in range(1, reception.MAX_DAYS + 1)))
    values = {k: forms.text(form, k, 600) for k in names} if form is not None else {}
    return page(request, "online_reception.html", principal, status_code=status_code, step=step, values=values,
                max_days=reception.MAX_DAYS, **context)


@router.get("/online/reception")
def reception_form(request: Request, principal: PagePrincipal):
    """网上预约: the matter number and query code first."""
    return _reception_page(request, principal, "matter")


@router.post("/online/reception/code")
def reception_code(request: Request, form: forms.Posted, db: DbSession, principal: PagePrincipal):
    """Send an SMS code to the matter's phone, and show the request form (days, a room nearby, a note)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    try:
        matter = find_matter(request, forms.text(form, "number", 40), forms.text(form, "code", 32), db=db)
        sent = _send_matter_code(request, matter, "reception", db=db)
    except DomainError as error:
        return _reception_page(request, principal, "matter", form, **_failed(request, error))
    return _reception_page(request, principal, "form", form, challenge=sent.challenge, sent=sent,
                           rooms=reception.rooms_near(matter, db=db))


@router.post("/online/reception")
def reception_submit(request: Request, form: forms.Posted, db: DbSession, principal: PagePrincipal):
    """With the SMS code: the request waits in the queue of the matter's handling body."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    try:
        matter = find_matter(request, forms.text(form, "number", 40), forms.text(form, "code", 32), db=db)
    except DomainError as unknown:
        return _reception_page(request, principal, "matter", form, **_failed(request, unknown))
    rooms = reception.rooms_near(matter, db=db)
    try:
        row = _checked(request, db=db, purpose="reception", form=form, matter_id=matter.id)
    except DomainError as refused:
        return _reception_page(request, principal, "form", form, rooms=rooms,
                               challenge=forms.text(form, "challenge", 64), **_failed(request, refused))

    def do():
        days = [d for d in (forms.day(form, f"day{i}") for i in range(1, reception.MAX_DAYS + 1)) if d]
        verification.consume(row, db=db)
        return reception.ask(db=db, matter=matter, days=days, room_id=forms.integer(form, "room_id"),
                             note=forms.text(form, "note", reception.MAX_NOTE + 1), today=local_day(now()))

    made, error = attempt(do, db=db)
    if error is not None:
        return _reception_page(request, principal, "form", form, rooms=rooms,
                               challenge=forms.text(form, "challenge", 64), **_failed(request, error))
    return _reception_page(request, principal, "done", form, made=made)


# ---- 网上信访 ---------------------------------------------------------------------------------------------------------

INTAKE_FIELDS = ("phone", "challenge", "name", "id_number", "county_id", "address_node_id", "about", "demands")


def _intake_page(request: Request, principal, step: str, form=None, status_code: int = 200, *, db, **context):
    values = {k: forms.text(form, k, intake.MAX_ABOUT) for k in INTAKE_FIELDS} if form is not None else {}
    return page(request, "online_intake.html", principal, status_code=status_code, step=step, values=values,
                places=intake.places(db=db) if step == "form" else [], max_files=intake.MAX_FILES,
                max_mb=app_settings(request).max_upload_bytes // (1024 * 1024), **context)


@router.get("/online/intake")
def intake_form(request: Request, db: DbSession, principal: PagePrincipal):
    """网上信访: the mobile phone first (a code is sent to it)."""
    return _intake_page(request, principal, "phone", db=db)


@router.post("/online/intake/code")
def intake_code(request: Request, form: forms.Posted, db: DbSession, principal: PagePrincipal):
    """Send an SMS code to the phone given (the same answer whoever it belongs to), and show the form."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    try:
        sent = verification.send_code(db=db, protector=_protector(request), limits=_limits(request), purpose="intake",
                                      phone=forms.text(form, "phone", 20), client=client_address(request))
    except DomainError as error:
        return _intake_page(request, principal, "phone", form, db=db, **_failed(request, error))
    return _intake_page(request, principal, "form", form, db=db, challenge=sent.challenge, sent=sent)


@router.post("/online/intake")
def intake_submit(request: Request, form: forms.Posted, db: DbSession, principal: PagePrincipal,
                  settings: AppSettings):
    """With the SMS code: the petition waits as a draft for the chosen county's coordinators."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    phone = forms.text(form, "phone", 20)
    try:
        if not _limits(request).forms_per_client.attempt(f"online-intake:{client_address(request)}"):
            raise RateLimited("online.error.rate_limited")
        row = _checked(request, db=db, purpose="intake", form=form, phone=phone)
    except DomainError as refused:
        return _intake_page(request, principal, "form", form, db=db, challenge=forms.text(form, "challenge", 64),
                            **_failed(request, refused))

    def do():
        files = [f for f in form.getlist("files") if not isinstance(f, str) and f.filename]
        if len(files) > intake.MAX_FILES:
            raise Invalid("online.error.too_many_files", field="files", max=intake.MAX_FILES)
        uploads = [intake.Upload(f.filename or "", f.file.read(settings.max_upload_bytes + 1)) for f in files]
        verification.consume(row, db=db)
        return intake.submit(db=db, protector=_protector(request), storage_dir=Path(settings.data_dir),
                             max_bytes=settings.max_upload_bytes, name=forms.text(form, "name", 100),
                             id_number=forms.text(form, "id_number", 18), phone=phone,
                             county_id=forms.integer(form, "county_id"),
                             address_node_id=forms.integer(form, "address_node_id"),
                             about=forms.text(form, "about", intake.MAX_ABOUT + 1),
                             demands=forms.text(form, "demands", intake.MAX_DEMANDS + 1), uploads=uploads)

    made, error = attempt(do, db=db)
    if error is not None:
        return _intake_page(request, principal, "form", form, db=db, challenge=forms.text(form, "challenge", 64),
                            **_failed(request, error))
    return _intake_page(request, principal, "done", form, db=db, made=made)


# ---- the coordinators' queue -----------------------------------------------------------------------------------------

@router.get("/online-requests")
def queue_page(request: Request, principal: User, db: DbSession, cursor: str | None = None):
    """The online requests waiting in the coordinator's queues: reception requests and online petitions."""
    access.require_office_role(principal)
    found = queries.queue(db=db, principal=principal, cursor=cursor or None)
    return page(request, "online_requests.html", principal, found=found)


@router.get("/online-requests/badge")
def queue_badge(request: Request, principal: User, db: DbSession):
    """How many online requests wait (the dashboard's link, loaded by htmx)."""
    access.require_office_role(principal)
    return page(request, "online_badge.html", principal, waiting=queries.waiting_count(db=db, principal=principal))


def _request_page(request: Request, principal, row, status_code: int = 200, error: str | None = None, values: dict | None = None,
                  *, db):
    context: dict = {}
    if row.kind is OnlineKind.intake:
        draft = intake.completion_of(db=db, request=row, protector=_protector(request), actor_id=principal.person_id)
        context = {"draft": draft, "regions": office_nodes(principal, NodeKind.region, db=db),
                   "categories": list(categories.load(app_settings(request).categories_file or None).values())}
    return page(request, "online_request.html", principal, status_code=status_code, error=error,
                item=queries.view(row, db=db), values=values or {}, **context)


@router.get("/online-requests/{request_id}")
def request_page(request_id: int, request: Request, principal: User, db: DbSession):
    """One request: approve (book) or refuse a reception request; complete and register, or decline, a petition."""
    return _request_page(request, principal, access.load_for_office(principal, request_id, db=db), db=db)


@router.post("/online-requests/{request_id}/approve")
def approve(request_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Approve a reception request and open the booking form, prefilled (booking as any reception)."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    row = access.load_for_office(principal, request_id, db=db)
    _, error = attempt(lambda: reception.approve(db=db, request=row, actor_id=principal.person_id), db=db)
    if error is not None:
        return _request_page(request, principal, row, db=db, status_code=error.status, error=message(request, error))
    reason = translate("online.booking_reason", language(request), id=row.id)
    return RedirectResponse(f"/matters/{row.matter_id}/book?" + urlencode(reception.booking_query(row, reason)),
                            status_code=303)


@router.post("/online-requests/{request_id}/refuse")
def refuse(request_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Refuse a reception request or decline a petition, with a reason the petitioner gets by SMS."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    row = access.load_for_office(principal, request_id, db=db)
    reason = forms.text(form, "reason", reception.MAX_REASON + 1)
    answer = reception.refuse if row.kind is OnlineKind.reception else intake.decline
    _, error = attempt(lambda: answer(db=db, request=row, reason=reason, actor_id=principal.person_id,
                                          protector=_protector(request)), db=db)
    if error is not None:
        return _request_page(request, principal, row, db=db, status_code=error.status, error=message(request, error))
    return RedirectResponse("/online-requests", status_code=303)


@router.post("/online-requests/{request_id}/register")
def register(request_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
             settings: AppSettings):
    """Register the petition through the registration service; the query code goes to the petitioner by SMS."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    row = access.load_for_office(principal, request_id, db=db)

    def do():
        completed = intake.Completed(
            handling_node_id=forms.integer(form, "handling_node_id") or 0,
            origin_node_id=forms.integer(form, "origin_node_id") or 0, category=forms.text(form, "category", 32),
            summary=forms.text(form, "summary", intake.MAX_DEMANDS + 1),
            facts=forms.text(form, "facts", intake.MAX_ABOUT + 1), name=forms.text(form, "name", 100),
            id_number=forms.text(form, "id_number", 18), phone=forms.text(form, "phone", 20))
        access.require_office_over(principal, completed.handling_node_id, db=db)
        return intake.register_draft(db=db, request=row, completed=completed, protector=_protector(request),
                                     storage_dir=Path(settings.data_dir), max_bytes=settings.max_upload_bytes,
                                     actor_id=principal.person_id, categories_file=settings.categories_file or None,
                                     moves_off_holidays=settings.deadline_moves_off_holidays)

    result, error = attempt(do, db=db)
    if error is not None:
        if isinstance(error, Forbidden):
            raise error
        values = {k: forms.text(form, k, intake.MAX_ABOUT) for k in
                  ("handling_node_id", "origin_node_id", "category", "summary", "facts", "name", "id_number", "phone")}
        return _request_page(request, principal, row, db=db, status_code=error.status, error=message(request, error),
                             values=values)
    assert result is not None  # attempt() gives a result when there is no error
    matter, _code = result
    return RedirectResponse(f"/matters/{matter.id}", status_code=303)


@router.get("/online-requests/{request_id}/files/{sha256}")
def draft_file(request_id: int, sha256: str, request: Request, principal: User, db: DbSession,
               settings: AppSettings):
    """A file of an online petition, for its county's coordinators; every read is audited."""
    row = access.load_for_office(principal, request_id, db=db)
    meta, path = intake.read_file(db=db, request=row, sha256=sha256[:64], storage_dir=Path(settings.data_dir),
                                  actor_id=principal.person_id)
    return file_download(path, meta["filename"])
