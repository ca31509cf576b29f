"""Evidence shown in a call (证据展示): the matter's notices, task attachments and files uploaded during the call.

An item is named by text that the signaling protocol carries (`signaling.messages.EvidenceItem`):
``doc:ID`` (a notice, as PDF), ``att:ID`` (a task attachment that is a PDF or an image), or
``upload:MATTER_ID:SHA256`` (a PDF or image uploaded into the matter during a call). Pages are rendered on the
server to PNG with PDFium (pypdfium2), so every screen shows the same pixels and no browser parses the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit, documents
from vreception.errors import DomainError, Forbidden, Invalid, NotFound
from vreception.models import AuditEvent, Matter
from vreception.models.documents import Document
from vreception.models.tasks import Attachment, Task

ITEM = re.compile(r"^((doc|att):[0-9]{1,12}|upload:[0-9]{1,12}:[0-9a-f]{64})$")
# What may be shown, by its first bytes (never by the name or the browser's content type).
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}
# 1.5 × 72 dpi: an A4 page is 893 × 1263 pixels, sharp on a township screen, ~100-200 KB as PNG.
RENDER_SCALE = 1.5
MAX_PAGES = 1000
PREPARED = "call.evidence_prepared"
UPLOADED = "matter.evidence_uploaded"
MATTER_FILE = "matter.attachment_added"
# PDFium is not thread-safe; routes run in a thread pool.
_PDFIUM = threading.Lock()


class UploadTooLarge(DomainError):
    """An upload above VRECEPTION_MAX_UPLOAD_BYTES (413)."""

    code = "too_large"
    status = 413


class UnsupportedFile(DomainError):
    """A matter's attachment that is not a PDF, PNG or JPEG by its own bytes (415)."""

    code = "unsupported_type"
    status = 415


@dataclass(frozen=True)
class Source:
    """One showable item's bytes, what they are, and how many pages they have."""

    item: str
    matter_id: int
    content_type: str
    data: bytes
    pages: int
    title: str

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes (the render cache's key)."""
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The content type of DATA by its magic bytes (PDF, PNG, JPEG), or None for anything else."""
    return next((kind for magic, kind in MAGIC if data.startswith(magic)), None)


def count_pages(data: bytes) -> int:
    """How many pages a PDF has; Invalid when PDFium cannot open it."""
    import pypdfium2 as pdfium

    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError:
            raise Invalid("error.evidence_unreadable", field="file") from None
        try:
            pages = len(pdf)
        finally:
            pdf.close()
    if not 1 <= pages <= MAX_PAGES:
        raise Invalid("error.evidence_unreadable", field="file")
    return pages


def _pages(content_type: str, data: bytes) -> int:
    return count_pages(data) if content_type == "application/pdf" else 1


def upload_path(storage_dir: Path, matter_id: int, sha256: str, content_type: str) -> Path:
    """Where an upload into MATTER_ID is stored (named by its hash: the same file twice is stored once)."""
    return storage_dir / "evidence" / str(matter_id) / f"{sha256}.{EXTENSIONS[content_type]}"


def _checked_store(matter: Matter, data: bytes, max_bytes: int, storage_dir: Path) -> tuple[str, int, str]:
    """Bound, sniff and store DATA under MATTER: its content type, pages and hash; nothing stored when refused."""
    if len(data) > max_bytes:
        raise UploadTooLarge("error.upload_too_large", field="file", max=max_bytes)
    if not data:
        raise Invalid("error.upload_empty", field="file")
    content_type = sniff(data)
    if content_type is None:
        raise Invalid("error.evidence_type", field="file")
    pages = _pages(content_type, data)
    sha256 = hashlib.sha256(data).hexdigest()
    path = upload_path(storage_dir, matter.id, sha256, content_type)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_whole(path, data)
    return content_type, pages, sha256


def store_upload(*, db: Session, matter: Matter, data: bytes, max_bytes: int, storage_dir: Path,
                 actor_id: int | None, session_id: int, filename: str = "") -> Source:
    """Check and store a file uploaded into MATTER during call SESSION_ID; nothing is stored when it is refused."""
    content_type, pages, sha256 = _checked_store(matter, data, max_bytes, storage_dir)
    item = f"upload:{matter.id}:{sha256}"
    audit.record(db=db, action=UPLOADED, entity_type="matter", entity_id=matter.id, actor_id=actor_id,
                 data={"item": item, "sha256": sha256, "bytes": len(data), "content_type": content_type,
                       "pages": pages, "session_id": session_id, "filename": filename[:200]})
    return Source(item=item, matter_id=matter.id, content_type=content_type, data=data, pages=pages,
                  title=filename[:200] or item)


@dataclass(frozen=True)
class MatterFile:
    """One of the petitioner's own materials attached to a matter (登记附件), as its audit record holds it."""

    item: str
    sha256: str
    filename: str
    content_type: str
    bytes: int
    pages: int
    uploaded_by: int | None
    uploaded_at: datetime


def store_matter_file(*, db: Session, matter: Matter, data: bytes, max_bytes: int, storage_dir: Path,
                      actor_id: int | None, filename: str = "") -> MatterFile:
    """Check and store one of the petitioner's materials with MATTER (a PDF or an image); the audit holds the record."""
    if 0 < len(data) <= max_bytes and sniff(data) is None:
        raise UnsupportedFile("error.matter_file_type", field="file")
    content_type, pages, sha256 = _checked_store(matter, data, max_bytes, storage_dir)
    item = f"upload:{matter.id}:{sha256}"
    name = (filename or "").strip()[:200] or f"{sha256[:12]}.{EXTENSIONS[content_type]}"
    event = audit.record(db=db, action=MATTER_FILE, entity_type="matter", entity_id=matter.id, actor_id=actor_id,
                         data={"item": item, "sha256": sha256, "bytes": len(data), "content_type": content_type,
                               "pages": pages, "filename": name})
    return MatterFile(item=item, sha256=sha256, filename=name, content_type=content_type, bytes=len(data),
                      pages=pages, uploaded_by=actor_id, uploaded_at=event.at)


def matter_files(*, db: Session, matter_id: int) -> list[MatterFile]:
    """The materials attached to MATTER_ID, oldest first; the same file attached twice is listed once."""
    events = db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "matter",
                                                      AuditEvent.entity_id == str(matter_id),
                                                      AuditEvent.action == MATTER_FILE).order_by(AuditEvent.seq))
    out: dict[str, MatterFile] = {}
    for event in events:
        data = json.loads(event.data)
        out.setdefault(data["sha256"], MatterFile(
            item=data["item"], sha256=data["sha256"], filename=data["filename"], content_type=data["content_type"],
            bytes=data["bytes"], pages=data["pages"], uploaded_by=event.actor_id, uploaded_at=event.at))
    return list(out.values())


def _cached_pdf(document: Document, cache_dir: Path) -> bytes:
    path = cache_dir / f"document-{document.id}-{document.sha256}.pdf"
    if path.exists():
        return path.read_bytes()
    data = documents.render_pdf(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(path, data)
    return data


def resolve(*, db: Session, matter_id: int, item: str, storage_dir: Path) -> Source:
    """The item's bytes, if it belongs to MATTER_ID (Forbidden if it belongs to another matter, NotFound if none)."""
    if not ITEM.match(item):
        raise Invalid("error.invalid_field", field="item", reason="doc:ID, att:ID or upload:MATTER:SHA256")
    kind, _, rest = item.partition(":")
    if kind == "doc":
        document = db.get(Document, int(rest))
        if document is None:
            raise NotFound("error.not_found", field="item")
        if document.matter_id != matter_id:
            raise Forbidden("error.evidence_other_matter")
        data = _cached_pdf(document, storage_dir / "evidence-cache")
        return Source(item=item, matter_id=matter_id, content_type="application/pdf", data=data,
                      pages=count_pages(data), title=document.number)
    if kind == "att":
        attachment = db.get(Attachment, int(rest))
        task = db.get(Task, attachment.task_id) if attachment is not None else None
        if attachment is None or task is None:
            raise NotFound("error.not_found", field="item")
        if task.matter_id != matter_id:
            raise Forbidden("error.evidence_other_matter")
        path = storage_dir / attachment.storage_key
        if not path.is_file():
            raise NotFound("error.not_found", field="item")
        data = path.read_bytes()
        content_type = sniff(data)
        if content_type is None:
            raise Invalid("error.evidence_type", field="item")
        return Source(item=item, matter_id=matter_id, content_type=content_type, data=data,
                      pages=_pages(content_type, data), title=attachment.filename)
    owner, _, sha256 = rest.partition(":")
    if int(owner) != matter_id:
        raise Forbidden("error.evidence_other_matter")
    found = next((p for p in (upload_path(storage_dir, matter_id, sha256, t) for t in EXTENSIONS) if p.is_file()), None)
    if found is None:
        raise NotFound("error.not_found", field="item")
    data = found.read_bytes()
    content_type = sniff(data)
    if content_type is None or hashlib.sha256(data).hexdigest() != sha256:
        raise NotFound("error.not_found", field="item")
    return Source(item=item, matter_id=matter_id, content_type=content_type, data=data,
                  pages=_pages(content_type, data), title=item)


def render_page(source: Source, page: int, cache_dir: Path) -> tuple[bytes, str]:
    """Page PAGE of SOURCE as an image (a PDF page rendered to PNG, cached; an image as it is) and its type."""
    if not 1 <= page <= source.pages:
        raise NotFound("error.not_found", field="page")
    if source.content_type != "application/pdf":
        return source.data, source.content_type
    path = cache_dir / f"{source.sha256}-{page}.png"
    if path.exists():
        return path.read_bytes(), "image/png"
    import io

    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(source.data)
        try:
            bitmap = pdf[page - 1].render(scale=RENDER_SCALE)
            image = bitmap.to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    png = out.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_whole(path, png)
    return png, "image/png"


def _write_whole(path: Path, data: bytes) -> None:
    """Write DATA to PATH so that no reader sees half of it."""
    # One partial file per writer: viewers asking for the same page at once each render it, and the last rename wins.
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    partial.write_bytes(data)
    partial.replace(path)


def prepare(*, db: Session, session_id: int, source: Source, actor_id: int | None, participant_id: int) -> None:
    """Note that SOURCE may be shown in call SESSION_ID: its pages are then served to the call's participants."""
    audit.record(db=db, action=PREPARED, entity_type="session", entity_id=session_id, actor_id=actor_id,
                 data={"item": source.item, "pages": source.pages, "participant_id": participant_id})


def was_prepared(*, db: Session, session_id: int, item: str) -> bool:
    """Whether ITEM was prepared for showing in call SESSION_ID."""
    rows = db.scalars(select(AuditEvent.data).where(AuditEvent.entity_type == "session",
                                                         AuditEvent.entity_id == str(session_id),
                                                         AuditEvent.action == PREPARED))
    return any(json.loads(data).get("item") == item for data in rows)


def showable(*, db: Session, matter_id: int) -> list[dict[str, str]]:
    """What of MATTER_ID can be shown, for the picker: its notices, the attachments of its tasks, the materials
    attached at registration and the files uploaded into its calls (each file once)."""
    notices = db.scalars(select(Document).where(Document.matter_id == matter_id).order_by(Document.id))
    attachments = db.scalars(select(Attachment).join(Task, Task.id == Attachment.task_id)
                                  .where(Task.matter_id == matter_id).order_by(Attachment.id))
    files = db.scalars(select(AuditEvent).where(AuditEvent.entity_type == "matter",
                                                     AuditEvent.entity_id == str(matter_id),
                                                     AuditEvent.action.in_([MATTER_FILE, UPLOADED]))
                            .order_by(AuditEvent.seq))
    items = [{"item": f"doc:{d.id}", "title": f"{documents.KINDS[d.kind][0]} {d.number}"} for d in notices]
    items += [{"item": f"att:{a.id}", "title": a.filename} for a in attachments]
    seen: set[str] = set()
    for event in files:
        data = json.loads(event.data)
        if data["sha256"] not in seen:
            seen.add(data["sha256"])
            items.append({"item": data["item"], "title": data.get("filename") or data["sha256"][:12]})
    return items
