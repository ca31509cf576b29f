"""Matter pages: the list, registering (with the repeat warning), the matter page, its actions and documents."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from vreception import documents, tasks
from vreception.auth.access import load_node, require
from vreception.cases import access, actions, categories, materials, matter_export, queries, register, search
from vreception.cases.deadlines import MAX_EXTENSION_DAYS, RULES, end_of_day
from vreception.cases.views import MatterOut
from vreception.errors import Forbidden, Invalid
from vreception.i18n import translate
from vreception.models import Channel, Matter, MatterState, NodeKind, Role
from vreception.models.scheduling import ReceptionSession
from vreception.org.queries import leaders_in, office_nodes
from vreception.tasks.access import require_can_assign
from vreception.tasks.queries import attachments_of
from web import hearing_section
from web.deps import DbSession, language
from web.downloads import file_download
from web.export_files import export_response
from web.pages import forms
from web.pages.forms import attempt
from web.pages.support import User, check_csrf, has, message, page, require_any, zone
from web.responses import document_file
from web.settings import AppSettings, app_settings
from web.sms_section import sms_section

router = APIRouter()
PAGE_SIZE = 50
PETITIONER_ROWS = 3
DEMAND_ROWS = 3
PETITIONER_KINDS = ("citizen", "legal_person", "organisation")
# The form fields each action needs besides its reason.
SERVICE_FIELDS = ("method", "served_at", "proof")
OPINION_FIELDS = ("outcomes", "facts", "basis")
ACTION_FIELDS = {
    "transfer": ("to_node_id",), "assign": ("to_node_id", "days"), "extend": ("days", "approved_by"),
    "settle": ("kind",), "reply": OPINION_FIELDS, "review_reply": OPINION_FIELDS, "recheck_reply": OPINION_FIELDS,
    "route_legal": ("channel",), "set_owner": ("leader_id",), "request_review": ("requested_at",),
    "request_recheck": ("requested_at",), "serve": SERVICE_FIELDS, "serve_notice": ("document_id", *SERVICE_FIELDS),
    "return_completion": ("days",),
}
# Actions without a reason field; accept asks for one only when the matter is flagged as a possible repeat.
NO_REASON = {"serve", "serve_notice", "request_review", "request_recheck", "set_owner"}
INT_FIELDS = ("to_node_id", "days", "leader_id", "approved_by", "document_id")
TEXT_FIELDS = {"kind": 16, "channel": 32, "method": 16, "facts": 4000, "basis": 4000}
MOMENT_FIELDS = ("requested_at", "served_at")
SORT_LABELS = {"active": "lists.sort.active", "received_desc": "matter_search.sort.received_desc",
               "received_asc": "matter_search.sort.received_asc", "due_asc": "matter_search.sort.due_asc"}


def _form_context(request: Request, session, principal, values: dict | None = None) -> dict:
    return {"regions": office_nodes(principal, NodeKind.region, db=session), "channels": [c.value for c in Channel],
            "units": office_nodes(principal, db=session), "petitioner_kinds": PETITIONER_KINDS,
            "categories": list(categories.load(app_settings(request).categories_file or None).values()),
            "values": values or {}, "petitioner_rows": range(max(PETITIONER_ROWS, len((values or {}).get("petitioner_name") or []))),
            "demand_rows": range(max(DEMAND_ROWS, len((values or {}).get("demand_summary") or [])))}


def _read_registration(form) -> dict:
    """The petitioners and demands of the register form (empty rows left out)."""
    names, ids, phones = (forms.texts(form, k, 100) for k in ("petitioner_name", "petitioner_id", "petitioner_phone"))
    kinds, codes = forms.texts(form, "petitioner_kind", 16), forms.texts(form, "petitioner_credit_code", 32)
    addresses = forms.texts(form, "petitioner_address", 400)
    reps = set(forms.texts(form, "representative", 4))
    petitioners: list[dict[str, Any]] = []
    representatives: list[int] = []
    for i in range(max(len(names), len(ids), len(codes))):
        name, id_number, credit_code = _at(names, i), _at(ids, i), _at(codes, i)
        phone, address = _at(phones, i), _at(addresses, i)
        if name or id_number or credit_code:
            if str(i) in reps:
                representatives.append(len(petitioners))
            petitioners.append({"kind": _at(kinds, i) or "citizen", "name": name, "id_number": id_number,
                                "credit_code": credit_code, "phone": phone or None, "address": address or None})
    summaries, cats = forms.texts(form, "demand_summary", 4000), forms.texts(form, "demand_category", 32)
    demands = [{"summary": s, "category": _at(cats, i)} for i, s in enumerate(summaries) if s]
    return {"petitioners": petitioners, "representatives": representatives, "demands": demands}


def _at(values: list[str], i: int) -> str:
    return values[i] if i < len(values) else ""


def _values(form) -> dict:
    """The submitted form, to show it again after an error."""
    return {key: form.getlist(key) for key in form.keys()}


def _search_context(request: Request, principal, *, db) -> dict:
    """The choices of the search form: states, channels, categories, the reader's regions and leaders."""
    return {"states": [s.value for s in MatterState], "channels": [c.value for c in Channel],
            "categories": list(categories.load(app_settings(request).categories_file or None).values()),
            "regions": office_nodes(principal, NodeKind.region, db=db), "leaders": leaders_in(principal, access.READERS, db=db),
            "sorts": SORT_LABELS}


def _filter_query(request: Request) -> str:
    """The query string of the search, without the page (for paging and export links)."""
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "cursor" and v.strip()])


@router.get("/matters")
def matter_list(request: Request, principal: User, db: DbSession, cursor: str | None = None):
    """Matters the person may read, found by the search form (a bookmarkable GET), a page at a time."""
    require_any(principal, *access.READERS)
    context = {"query": _filter_query(request), "values": request.query_params, **_search_context(request, principal, db=db)}
    try:
        wanted = search.parse({k: request.query_params.getlist(k) for k in request.query_params})
        found = search.search_matters(db=db, principal=principal, search=wanted, protector=request.app.state.protector,
                                      categories_file=app_settings(request).categories_file or None,
                                      limit=PAGE_SIZE, cursor=cursor or None)
    except Invalid as error:
        return page(request, "matters.html", principal, status_code=422, error=message(request, error),
                    error_field=error.field, found=None, wanted=None, **context)
    return page(request, "matters.html", principal, found=found, wanted=wanted, paged=bool(cursor),
                can_register=has(principal, Role.coordinator) or has(principal, Role.admin), **context)


def _export(request: Request, principal, fmt: matter_export.Format, *, db):
    require_any(principal, *access.READERS)
    wanted = search.parse({k: request.query_params.getlist(k) for k in request.query_params})
    return export_response(matter_export.export_matters(
        db=db, principal=principal, search_for=wanted, fmt=fmt, protector=request.app.state.protector,
        categories_file=app_settings(request).categories_file or None, lang=language(request)))


@router.get("/matters/export.xlsx")
def export_xlsx(request: Request, principal: User, db: DbSession):
    """The found matters as an Excel file (ID numbers masked, audited)."""
    return _export(request, principal, "xlsx", db=db)


@router.get("/matters/export.pdf")
def export_pdf(request: Request, principal: User, db: DbSession):
    """The found matters as a PDF (ID numbers masked, audited)."""
    return _export(request, principal, "pdf", db=db)


@router.get("/petitioners/{petitioner_id}")
def petitioner_page(petitioner_id: int, request: Request, principal: User, db: DbSession, cursor: str | None = None):
    """A petitioner's matters the person may read, newest first (404 when none, as the API)."""
    history = search.petitioner_history(db=db, principal=principal, petitioner_id=petitioner_id, limit=PAGE_SIZE,
                                        cursor=cursor or None)
    return page(request, "petitioner.html", principal, history=history)


@router.get("/matters/new")
def new_matter(request: Request, principal: User, db: DbSession):
    """The register form: petitioners, representatives, demands with their classification, channel."""
    require_any(principal, *access.OFFICE)
    return page(request, "matter_new.html", principal, **_form_context(request, db, principal))


@router.post("/matters/new/repeat-check")
def repeat_check(request: Request, form: forms.Posted, principal: User, db: DbSession):
    """The repeat-petition warning (重复访) for what the form holds so far (an htmx partial)."""
    require_any(principal, *access.OFFICE)
    check_csrf(request, forms.text(form, "csrf_token", 200))
    data = _read_registration(form)
    found = register.check_new(db=db, protector=request.app.state.protector, petitioners=data["petitioners"],
                               demands=data["demands"], actor_id=principal.person_id) \
        if data["petitioners"] and data["demands"] else []
    return page(request, "_repeat_warning.html", principal, repeats=queries.readable_repeats(principal, found, db=db),
                checked=bool(data["demands"]))


@router.post("/matters")
def register_matter(request: Request, form: forms.Posted, principal: User, db: DbSession, settings: AppSettings):
    """Register the matter; the query code is shown on this answer only."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    require_any(principal, *access.OFFICE)

    def do():
        handling = load_node(forms.integer(form, "handling_node_id") or 0, db=db)
        require(principal, handling, access.OFFICE)
        data = _read_registration(form)
        return register.register(
            db=db, protector=request.app.state.protector, petitioners=data["petitioners"], demands=data["demands"],
            origin_node_id=forms.integer(form, "origin_node_id") or 0, handling_node_id=handling.id,
            channel=forms.text(form, "channel", 16), representatives=data["representatives"],
            received_at=forms.local_datetime(form, "received_at", zone(request)), actor_id=principal.person_id,
            categories_file=settings.categories_file or None, moves_off_holidays=settings.deadline_moves_off_holidays,
            facts=forms.text(form, "facts", 20000), accused_text=forms.text(form, "accused_text", 400),
            accused_node_id=forms.integer(form, "accused_node_id"), people_count=forms.integer(form, "people_count"),
            accusation=forms.text(form, "accusation", 8) == "1")

    result, error = attempt(do, db=db)
    if error is not None:
        if error.status == 403:
            raise error
        return page(request, "matter_new.html", principal, status_code=error.status, error=message(request, error),
                    **_form_context(request, db, principal, _values(form)))
    assert result is not None  # attempt() gives a result when there is no error
    matter, code, repeats = result
    return page(request, "matter_registered.html", principal, matter=matter, code=code, repeats=repeats)


def timeline(view: MatterOut, booked: list[ReceptionSession], recordings: dict) -> list[dict]:
    """Registration, actions, notices served, sessions (with recordings), tasks and ratings, oldest first."""
    entries: list[dict] = [{"at": e.at, "kind": "event", "action": e.action, "to": e.to, "reason": e.reason,
                            "data": e.data} for e in view.timeline]
    entries += [{"at": d.served_at, "kind": "served", "document": d} for d in view.documents if d.served_at]
    entries += [{"at": item.starts_at, "kind": "session", "session": item, "recordings": recordings.get(item.id, [])}
                for item in booked]
    return sorted(entries, key=lambda e: e["at"])


def matter_context(request: Request, session, principal, matter: Matter) -> dict:
    """Everything the matter page shows."""
    view = queries.matter_view(db=session, principal=principal, matter=matter, protector=request.app.state.protector)
    booked = queries.sessions_of(matter, db=session)
    recordings = queries.recordings_by_session([b.id for b in booked], db=session)
    office, assigner = access.is_office(principal, matter, db=session), access.is_assigner(principal, matter, db=session)
    allowed = [a for a in actions.allowed(matter) if _may(principal, matter, a, db=session)]
    starts = {}
    for action in allowed:
        kind = actions.STARTS.get(action)
        if kind:
            starts[action] = {"kind": kind, "days": RULES[kind].days, "working": RULES[kind].working_days}
    return {
        "matter": matter, "view": view, "office": office, "assigner": assigner,
        "allowed": allowed, "starts": starts, "fields": ACTION_FIELDS,
        "no_reason": NO_REASON, "timeline": timeline(view, booked, recordings), "sessions": booked,
        **queries.places_of(matter, db=session),
        "nodes": office_nodes(principal, db=session) if office else [],
        "targets": queries.transfer_targets(matter, db=session) if "transfer" in allowed else [],
        "unit_heads": queries.unit_heads(matter, db=session) if "extend" in allowed else [],
        "notices": queries.unserved_notices(matter, db=session) if "serve_notice" in allowed else [],
        "units": queries.units_for(matter, db=session) if assigner else [],
        "leaders": leaders_in(principal, db=session) if office else [],
        "max_assignment_days": actions.MAX_ASSIGNMENT_DAYS, "max_extension_days": MAX_EXTENSION_DAYS,
        "attachments": attachments_of([t.id for t in view.tasks], db=session),
        "materials": materials.materials(db=session, matter_id=matter.id),
        "categories": categories.load(app_settings(request).categories_file or None),
        "event_text": lambda entry: event_text(entry, language(request)),
        **hearing_section.section(request, principal, matter, db=session),
        **sms_section(matter, db=session),
    }


@router.get("/matters/{matter_id}")
def matter_page(matter_id: int, request: Request, principal: User, db: DbSession):
    """The matter: facts, deadlines, timeline, actions with the deadline each starts, documents, tasks."""
    matter = access.load_readable(principal, matter_id, db=db)
    return page(request, "matter.html", principal, **matter_context(request, db, principal, matter))


@router.post("/matters/{matter_id}/actions")
def matter_action(matter_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession,
                  settings: AppSettings):
    """Move the matter on (受理, 答复, 送达 …) from its page."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    matter = actions.lock(matter_id, db=db)
    action = forms.text(form, "action", 40)
    fields = ACTION_FIELDS.get(action, ())
    params: dict[str, Any] = {"reason": forms.text(form, "reason", 4000)}
    for name in fields:
        if name in INT_FIELDS:
            params[name] = forms.integer(form, name)
    access.require_action(principal, matter, action, params, db=db)

    def do():
        params.update(_action_params(request, form, matter, fields))
        return actions.act(db=db, matter=matter, action=action, actor_id=principal.person_id, params=params,
                           moves_off_holidays=settings.deadline_moves_off_holidays)

    _, error = attempt(do, db=db)
    if error is not None:
        db.refresh(matter)
        return page(request, "matter.html", principal, status_code=error.status, error=message(request, error),
                    **matter_context(request, db, principal, matter))
    return RedirectResponse(f"/matters/{matter.id}#actions", status_code=303)


def _may(principal, matter: Matter, action: str, *, db) -> bool:
    try:
        access.require_action(principal, matter, action, {}, db=db)
    except Forbidden:
        return False
    return True


def _action_params(request: Request, form, matter: Matter, fields: tuple[str, ...]) -> dict[str, Any]:
    """The action's fields besides the numbers: texts, local moments, outcomes per demand, a proof of service."""
    params: dict[str, Any] = {}
    for name in fields:
        if name in TEXT_FIELDS:
            params[name] = forms.text(form, name, TEXT_FIELDS[name]) or None
        elif name in MOMENT_FIELDS:
            moment = forms.local_datetime(form, name, zone(request))
            if moment is not None:
                params[name] = moment.isoformat()
        elif name == "outcomes":
            chosen = {str(d.id): forms.text(form, f"outcome_{d.id}", 16) for d in matter.demands}
            params["outcomes"] = {k: v for k, v in chosen.items() if v}
        elif name == "proof":
            upload = form.get("proof")
            if isinstance(upload, UploadFile) and upload.filename:
                data = upload.file.read(documents.MAX_PROOF_BYTES + 1)
                if len(data) > documents.MAX_PROOF_BYTES:
                    raise Invalid("error.proof_too_large", field="proof", max=documents.MAX_PROOF_BYTES // 2**20)
                # The action takes the proof as base64, as the API does; an upload here is a scan.
                params["proof"], params["proof_source"] = base64.b64encode(data).decode(), "scan"
    return params


@router.get("/documents/{document_id}.html")
def document_html(document_id: int, principal: User, db: DbSession):
    """A notice as issued, for a signed-in reader of its matter."""
    return document_file(principal, document_id, "html", db=db)


@router.get("/documents/{document_id}.pdf")
def document_pdf(document_id: int, principal: User, db: DbSession):
    """A notice as PDF, for a signed-in reader of its matter."""
    return document_file(principal, document_id, "pdf", db=db)


@router.get("/matters/{matter_id}/attachments/{sha256}")
def matter_material(matter_id: int, sha256: str, principal: User, db: DbSession, settings: AppSettings):
    """One of the matter's materials (registration or call upload), for a reader of the matter; audited."""
    matter = access.load_readable(principal, matter_id, db=db)
    found, path = materials.read(db=db, matter=matter, sha256=sha256[:64], storage_dir=Path(settings.data_dir),
                                 actor_id=principal.person_id)
    return file_download(path, found.filename)


@router.get("/documents/{document_id}/proof")
def document_proof(document_id: int, principal: User, db: DbSession):
    """A served notice's proof of service (送达回证), for a reader of its matter; audited."""
    proof = documents.proof_of_service(access.load_readable_document(principal, document_id, db=db), db=db,
                                       actor_id=principal.person_id)
    return Response(proof.data, media_type=proof.media_type, headers={
        "Content-Disposition": f'inline; filename="{proof.filename}"', "X-Content-SHA256": proof.sha256,
        "X-Content-Type-Options": "nosniff"})


@router.post("/matters/{matter_id}/tasks")
def assign_task(matter_id: int, request: Request, form: forms.Posted, principal: User, db: DbSession):
    """Assign a follow-up task (交办) from the matter page; due at the end of the chosen day."""
    check_csrf(request, forms.text(form, "csrf_token", 200))
    matter = access.load(matter_id, db=db)
    access.require_assigner(principal, matter, db=db)
    unit_node_id = forms.integer(form, "unit_node_id") or 0

    def do():
        due_day = forms.day(form, "due_day")
        if due_day is None:
            raise Invalid("error.invalid_field", field="due_day", reason="")
        require_can_assign(principal, matter, unit_node_id, db=db)
        return tasks.create(db=db, matter=matter, unit_node_id=unit_node_id, title=forms.text(form, "title", 300),
                            due_at=end_of_day(due_day), detail=forms.text(form, "detail"), actor_id=principal.person_id)

    _, error = attempt(do, db=db)
    if error is not None:
        if error.status == 403:
            raise error
        return page(request, "matter.html", principal, status_code=error.status, error=message(request, error),
                    **matter_context(request, db, principal, matter))
    return RedirectResponse(f"/matters/{matter.id}#h-tasks", status_code=303)


def event_text(entry: dict, lang: str) -> str:
    """The data of a timeline event worth showing (unit, due time, outcome, rating), as one line in LANG."""
    data = entry.get("data") or {}
    keep = []
    for key in ("to_node_name", "leader_name", "unit", "outcome", "rating", "days"):
        value = data.get(key)
        if value:
            # Outcomes and ratings are codes ("support"): the page shows their names.
            keep.append(translate(f"pages.outcome.{value}", lang) if key == "outcome"
                        else translate(f"pages.rating.{value}", lang) if key == "rating" else str(value))
    return " · ".join(keep)

