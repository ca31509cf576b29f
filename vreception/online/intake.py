"""网上信访: a new petition from the public form lands as a draft in the coordinators' queue of the chosen county,
who register it through the normal registration service (the query code then goes out by SMS) or decline it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit, evidence
from vreception.cases import register
from vreception.cases.identity import Protector, normalize_id_number
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.models import Matter, Node, NodeKind, NodeLevel
from vreception.models.online import OnlineKind, OnlineRequest, OnlineState
from vreception.online import texting
from vreception.online.errors import AlreadyAnswered
from vreception.online.reception import MAX_REASON
from vreception.online.verification import mobile_or_invalid
from vreception.org import clean_name
from vreception.sms.hooks import local_date

MAX_FILES = 5
MAX_ABOUT = 2000
MAX_DEMANDS = 2000
MAX_PLACES = 3000


@dataclass(frozen=True)
class Upload:
    """One file of the form as it came."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Place:
    """A county and the places in it a petitioner may say they live in."""

    county: Node
    places: list[Node]


def places(*, db: Session) -> list[Place]:
    """The counties (regions) and their townships, for the public form."""
    regions = list(db.scalars(select(Node).where(Node.kind == NodeKind.region, Node.retired_at.is_(None),
                                                 Node.level.in_([NodeLevel.county, NodeLevel.township]))
                              .order_by(Node.path).limit(MAX_PLACES)))
    counties = [n for n in regions if n.level is NodeLevel.county]
    return [Place(c, [c] + [n for n in regions if n.level is NodeLevel.township and n.path.startswith(c.path)])
            for c in counties]


def check_files(uploads: list[Upload], max_bytes: int) -> list[tuple[dict[str, Any], bytes]]:
    """Each file bounded and typed as the registration materials are (PDF, PNG or JPEG by its own bytes)."""
    if len(uploads) > MAX_FILES:
        raise Invalid("online.error.too_many_files", field="files", max=MAX_FILES)
    checked = []
    for upload in uploads:
        data = upload.data
        if len(data) > max_bytes:
            raise evidence.UploadTooLarge("error.upload_too_large", field="files", max=max_bytes)
        if not data:
            raise Invalid("error.upload_empty", field="files")
        content_type = evidence.sniff(data)
        if content_type is None:
            raise evidence.UnsupportedFile("error.matter_file_type", field="files")
        pages = evidence.count_pages(data) if content_type == "application/pdf" else 1
        sha256 = hashlib.sha256(data).hexdigest()
        name = upload.filename.strip()[:200] or f"{sha256[:12]}.{evidence.EXTENSIONS[content_type]}"
        checked.append(({"sha256": sha256, "filename": name, "content_type": content_type, "bytes": len(data),
                         "pages": pages}, data))
    return checked


def draft_path(storage_dir: Path, request_id: int, sha256: str, content_type: str) -> Path:
    """Where a draft's file is kept until it is registered with a matter."""
    return storage_dir / "online" / str(request_id) / f"{sha256}.{evidence.EXTENSIONS[content_type]}"


def files_of(request: OnlineRequest) -> list[dict[str, Any]]:
    """The draft's files, as the form gave them."""
    return list(json.loads(request.files or "[]"))


def _county(county_id: int | None, address_node_id: int | None, *, db: Session) -> tuple[Node, Node]:
    county = db.get(Node, county_id) if county_id else None
    if county is None or county.level is not NodeLevel.county or county.kind is not NodeKind.region \
            or county.retired_at is not None:
        raise Invalid("online.error.county", field="county_id")
    place = db.get(Node, address_node_id) if address_node_id else None
    if place is None or place.kind is not NodeKind.region or not place.path.startswith(county.path):
        raise Invalid("online.error.place", field="address_node_id")
    return county, place


def submit(*, db: Session, protector: Protector, storage_dir: Path, max_bytes: int, name: str, id_number: str,
           phone: str, county_id: int | None, address_node_id: int | None, about: str, demands: str,
           uploads: list[Upload]) -> OnlineRequest:
    """Queue an online petition as a draft at the chosen county; files checked and kept with it."""
    name = clean_name(name, field="name")
    number = normalize_id_number((id_number or "").strip(), field="id_number")
    mobile = mobile_or_invalid(phone)
    county, place = _county(county_id, address_node_id, db=db)
    about, demands = (about or "").strip(), (demands or "").strip()
    if not about:
        raise Invalid("online.error.about_required", field="about")
    if not demands:
        raise Invalid("online.error.demands_required", field="demands")
    if len(about) > MAX_ABOUT or len(demands) > MAX_DEMANDS:
        raise Invalid("online.error.text_too_long", field="about" if len(about) > MAX_ABOUT else "demands",
                      max=MAX_ABOUT)
    checked = check_files(uploads, max_bytes)
    request = OnlineRequest(kind=OnlineKind.intake, state=OnlineState.waiting, node_id=county.id,
                            node_path=county.path, received_at=now(), name=name, id_cipher=protector.encrypt(number),
                            id_tail=number[-4:], phone_cipher=protector.encrypt(mobile), phone_tail=mobile[-4:],
                            address_node_id=place.id, about=about, demands=demands,
                            files=json.dumps([meta for meta, _ in checked], ensure_ascii=False))
    db.add(request)
    db.flush()
    for meta, data in checked:
        path = draft_path(storage_dir, request.id, meta["sha256"], meta["content_type"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    audit.record(db=db, action="online.intake_submitted", entity_type="online_request", entity_id=request.id,
                 data={"county_id": county.id, "address_node_id": place.id, "files": len(checked),
                       "phone_tail": request.phone_tail})
    return request


def draft_file(request: OnlineRequest, sha256: str, storage_dir: Path) -> tuple[dict[str, Any], Path]:
    """One file of a draft and where it is kept; NotFound for any other."""
    meta = next((f for f in files_of(request) if f["sha256"] == sha256), None)
    if meta is None:
        raise NotFound("error.material_not_found", field="sha256")
    path = draft_path(storage_dir, request.id, meta["sha256"], meta["content_type"])
    if not path.is_file():
        raise NotFound("error.material_not_found", field="sha256")
    return meta, path


def read_file(*, db: Session, request: OnlineRequest, sha256: str, storage_dir: Path,
              actor_id: int | None) -> tuple[dict[str, Any], Path]:
    """A draft's file for a coordinator; the read is audited (it carries personal data)."""
    meta, path = draft_file(request, sha256, storage_dir)
    audit.record(db=db, action="online.file_read", entity_type="online_request", entity_id=request.id,
                 actor_id=actor_id, data={"sha256": meta["sha256"]})
    return meta, path


def _open(request: OnlineRequest) -> None:
    if request.kind is not OnlineKind.intake:
        raise Invalid("online.error.wrong_kind", field="kind")
    if request.state is not OnlineState.waiting:
        raise AlreadyAnswered("online.error.already_answered")


@dataclass(frozen=True)
class Completed:
    """What the coordinator completes or corrects before registering the draft."""

    handling_node_id: int
    origin_node_id: int
    category: str
    summary: str
    facts: str
    name: str
    id_number: str
    phone: str


def completion_of(*, db: Session, request: OnlineRequest, protector: Protector, actor_id: int | None) -> Completed:
    """The draft as the registration form starts from: personal numbers decrypted for the office, audited."""
    audit.record(db=db, action="online.draft_read", entity_type="online_request", entity_id=request.id,
                 actor_id=actor_id)
    return Completed(handling_node_id=request.node_id, origin_node_id=request.address_node_id or request.node_id,
                     category="", summary=request.demands, facts=request.about, name=request.name,
                     id_number=protector.decrypt(request.id_cipher), phone=protector.decrypt(request.phone_cipher))


def register_draft(*, db: Session, request: OnlineRequest, completed: Completed, protector: Protector,
                   storage_dir: Path, max_bytes: int, actor_id: int | None, categories_file: str | None = None,
                   moves_off_holidays: bool = True) -> tuple[Matter, str]:
    """Register the draft through the registration service (channel online, received when it arrived); its files
    become the matter's materials. The registration hook sends the query code by SMS."""
    _open(request)
    matter, code, _ = register.register(
        db=db, protector=protector, channel="online", received_at=request.received_at, actor_id=actor_id,
        petitioners=[{"name": completed.name, "id_number": completed.id_number, "phone": completed.phone}],
        demands=[{"summary": completed.summary, "category": completed.category}],
        origin_node_id=completed.origin_node_id, handling_node_id=completed.handling_node_id,
        facts=completed.facts, categories_file=categories_file, moves_off_holidays=moves_off_holidays)
    for meta in files_of(request):
        _, path = draft_file(request, meta["sha256"], storage_dir)
        evidence.store_matter_file(db=db, matter=matter, data=path.read_bytes(), max_bytes=max_bytes,
                                   storage_dir=storage_dir, actor_id=actor_id, filename=meta["filename"])
    request.state, request.decided_at, request.decided_by, request.matter_id = (OnlineState.approved, now(),
                                                                                actor_id, matter.id)
    audit.record(db=db, action="online.intake_registered", entity_type="online_request", entity_id=request.id,
                 actor_id=actor_id, data={"matter_id": matter.id, "number": matter.number})
    return matter, code


def decline(*, db: Session, request: OnlineRequest, reason: str, actor_id: int | None,
            protector: Protector) -> OnlineRequest:
    """Decline the draft with a reason, sent to the petitioner's phone by SMS."""
    _open(request)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("error.reason_required", field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid("online.error.reason_too_long", field="reason", max=MAX_REASON)
    request.state, request.decided_at, request.decided_by, request.reason = (OnlineState.refused, now(), actor_id,
                                                                             reason)
    texting.send(db=db, template="intake_declined", phone_cipher=request.phone_cipher, phone_tail=request.phone_tail,
                 protector=protector, actor_id=actor_id, date=local_date(request.received_at), reason=reason)
    audit.record(db=db, action="online.intake_declined", entity_type="online_request", entity_id=request.id,
                 actor_id=actor_id, data={"reason": reason})
    return request
