"""Notices (告知书, 意见书, 接谈记录): issued from templates with a number and date, hashed, served."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from vreception import audit
from vreception.cases.deadlines import local_day
from vreception.cases.numbering import next_value
from vreception.clock import now
from vreception.errors import Conflict, Invalid, NotFound
from vreception.integration import record as integration
from vreception.models import Document, Matter, Node
from vreception.models.records import ReceptionRecord, RecordSignature

KINDS = {
    "acceptance_notice": ("受理告知书", "受"),
    "rejection_notice": ("不予受理告知书", "不受"),
    "repeat_refusal": ("不再受理告知书", "不再"),
    "transfer_notice": ("信访事项去向告知书", "转"),
    "assignment_letter": ("交办函", "交"),
    "completion_report": ("办结报告", "办结"),
    "legal_channel_notice": ("导入法定程序告知书", "导"),
    "mediation_agreement": ("调解协议书", "调"),
    "settlement_agreement": ("和解协议书", "和"),
    "extension_notice": ("延长办理期限告知书", "延"),
    "reply_opinion": ("信访处理意见书", "处"),
    "review_opinion": ("复查意见书", "复查"),
    "recheck_opinion": ("复核意见书", "复核"),
    "reception_record": ("接谈记录", "接谈"),
    "hearing_decision": ("听证告知书", "听告"),
    "hearing_refusal": ("不予听证告知书", "不听"),
    "hearing_notice": ("听证通知书", "听通"),
    "hearing_record": ("听证笔录", "听录"),
    "hearing_conclusion": ("听证结论", "听结"),
}
# Documents a petitioner is served and may read through the public lookup: every kind. A reception record is
# served only once signed, handed over at the table (records.issue_signed); an unsigned one is never served.
SERVED_KINDS = set(KINDS)
# How a document is served (送达): handed over, by post, electronically.
SERVICE_METHODS = ("direct", "mail", "electronic")
# A proof of service (送达回证): a scan, or the petitioner's signature taken on the township terminal.
PROOF_SOURCES = ("scan", "terminal_signature")
PROOF_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"%PDF-": "application/pdf"}
PROOF_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "application/pdf": "pdf"}
MAX_PROOF_BYTES = 5 * 1024 * 1024
# A signed record is handed over at the table: whoever signed it on the terminal for the petitioner's side received it.
SIGNED_RECORDS = ("reception_record", "hearing_record")
RECEIVING_ROLES = ("petitioner", "representative", "agent")

_env = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")),
                   autoescape=select_autoescape(["html"]), keep_trailing_newline=True)


def chinese_date(moment: datetime) -> str:
    """2026年11月23日, in Asia/Shanghai."""
    day = local_day(moment)
    return f"{day.year}年{day.month}月{day.day}日"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _store(*, db: Session, matter: Matter, kind: str, actor_id: int | None, template: str,
           issuer: Node | None = None, **context: Any) -> Document:
    """Number, render and store a document of KIND on MATTER in the name of ISSUER (default: the handling body);
    audited with its hash."""
    if kind not in KINDS:
        raise Invalid("error.document_kind", field="kind", kind=kind)
    title, short = KINDS[kind]
    office = issuer or db.get(Node, matter.handling_node_id)
    assert office is not None  # a foreign key of the matter
    issued_at = now()
    year = local_day(issued_at).year
    serial = next_value(db=db, scope=f"doc:{office.id}:{kind}", year=year)
    number = f"{office.name}信{short}〔{year}〕{serial}号"
    html = _env.get_template(template).render(
        kind=kind, title=title, number=number, office=office.name, issued=chinese_date(issued_at),
        matter_number=matter.number, received=chinese_date(matter.received_at), **context,
    )
    document = Document(matter_id=matter.id, kind=kind, number=number, issued_at=issued_at, issued_by=actor_id,
                        issuer_node_id=office.id, html=html, sha256=sha256(html))
    db.add(document)
    db.flush()
    audit.record(db=db, action="document.issued", entity_type="document", entity_id=document.id, actor_id=actor_id,
                 data={"matter_id": matter.id, "kind": kind, "number": number, "sha256": document.sha256})
    integration.document_issued(db=db, matter=matter, document=document, name=title)
    return document


def issue(*, db: Session, matter: Matter, kind: str, actor_id: int | None, addressee: str,
          issuer: Node | None = None, **context: Any) -> Document:
    """Render and store a notice of KIND on MATTER with the issuing office's next number for the year."""
    return _store(db=db, matter=matter, kind=kind, actor_id=actor_id, template="notice.html", addressee=addressee,
                  issuer=issuer, **context)


def issue_from(*, db: Session, matter: Matter, kind: str, template: str, actor_id: int | None,
               **context: Any) -> Document:
    """Render and store a document of KIND on MATTER from its own TEMPLATE (in documents/templates)."""
    return _store(db=db, matter=matter, kind=kind, actor_id=actor_id, template=template, **context)


def issue_signed_record(*, db: Session, matter: Matter, actor_id: int | None, **context: Any) -> Document:
    """The signed reception record (接谈记录) with its entries, signatures, refusals and the recording's hash."""
    return _store(db=db, matter=matter, kind="reception_record", actor_id=actor_id,
                  template="reception_record.html", **context)


def proof_type(data: bytes) -> str:
    """The media type of a proof of service (PNG, JPEG or PDF by its first bytes), or Invalid."""
    if len(data) > MAX_PROOF_BYTES:
        raise Invalid("error.proof_too_large", field="proof", max=MAX_PROOF_BYTES // (1024 * 1024))
    for magic, media_type in PROOF_TYPES.items():
        if data.startswith(magic):
            return media_type
    raise Invalid("error.proof_type", field="proof")


def terminal_signature(document: Document, *, db: Session) -> bytes | None:
    """The first signature the petitioner's side drew on the terminal for a signed record, if any."""
    if document.kind not in SIGNED_RECORDS:
        return None
    return db.scalars(
        select(RecordSignature.png).join(ReceptionRecord)
        .where(ReceptionRecord.document_id == document.id, RecordSignature.refused.is_(False),
               RecordSignature.role.in_(RECEIVING_ROLES), RecordSignature.png.isnot(None))
        .order_by(RecordSignature.id)).first()


def serve(document: Document, *, db: Session, actor_id: int | None, at: datetime | None = None,
          method: str = "direct", proof: bytes | None = None, proof_source: str | None = None) -> Document:
    """Mark DOCUMENT served (送达) on the petitioner by METHOD, with an optional proof of service (送达回证).

    A signed record handed over directly takes the petitioner's signature from the terminal as its proof."""
    if document.served_at is not None:
        raise Conflict("error.document_already_served", field="document_id")
    if method not in SERVICE_METHODS:
        raise Invalid("error.service_method", field="method")
    if proof is None and method == "direct":
        proof = terminal_signature(document, db=db)
        proof_source = "terminal_signature" if proof is not None else proof_source
    if proof is not None:
        if proof_source not in PROOF_SOURCES:
            raise Invalid("error.proof_source", field="proof_source")
        document.proof_type, document.proof_source = proof_type(proof), proof_source
        document.proof, document.proof_sha256 = proof, hashlib.sha256(proof).hexdigest()
    document.served_at, document.served_by, document.served_method = at or now(), actor_id, method
    db.flush()
    audit.record(db=db, action="document.served", entity_type="document", entity_id=document.id, actor_id=actor_id,
                 data={"matter_id": document.matter_id, "served_at": document.served_at.isoformat(),
                       "method": method, "proof_sha256": document.proof_sha256})
    integration.document_served(db=db, document=document, name=KINDS[document.kind][0])
    return document


@dataclass(frozen=True)
class Proof:
    """A served document's proof of service (送达回证) as stored: its bytes, type and where it came from."""

    data: bytes
    media_type: str
    sha256: str
    source: str

    @property
    def filename(self) -> str:
        return f"proof-{self.sha256[:12]}.{PROOF_EXTENSIONS.get(self.media_type, 'bin')}"


def proof_of_service(document: Document, *, db: Session, actor_id: int | None) -> Proof:
    """DOCUMENT's proof of service, for a reader of its matter (the caller checked); NotFound when it has none.

    Every read is audited: the proof shows the petitioner's signature or a scan with their details."""
    if document.proof is None or document.proof_type is None or document.proof_sha256 is None:
        raise NotFound("error.proof_not_found", id=document.id)
    audit.record(db=db, action="document.proof_read", entity_type="document", entity_id=document.id,
                 actor_id=actor_id, data={"matter_id": document.matter_id, "proof_sha256": document.proof_sha256})
    return Proof(document.proof, document.proof_type, document.proof_sha256, document.proof_source or "scan")


def intact(document: Document) -> bool:
    """Whether the stored HTML still matches its hash and every signature image it shows still matches its own."""
    if sha256(document.html) != document.sha256:
        return False
    db = object_session(document)
    if document.kind not in ("reception_record", "hearing_record") or db is None:
        return True
    signatures = db.scalars(select(RecordSignature).join(ReceptionRecord)
                            .where(ReceptionRecord.document_id == document.id)).all()
    # The stored image must still hash to what was taken at signing, which the hashed HTML names.
    return all(s.refused or (s.png is not None and s.sha256 is not None
                             and hashlib.sha256(s.png).hexdigest() == s.sha256 and s.sha256 in document.html)
               for s in signatures)


def render_pdf(document: Document) -> bytes:
    """The notice as PDF (WeasyPrint; needs Pango and a CJK font on the machine)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=document.html).write_pdf()  # weasyprint is untyped
    return pdf
