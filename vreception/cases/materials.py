"""What came with a matter (随事项材料): the petitioner's materials attached at registration and the files uploaded
into its calls, listed for its readers and read back with every read audited."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit, evidence
from vreception.cases.views import MaterialOut
from vreception.errors import NotFound
from vreception.models import AuditEvent, Matter

# The audit record is where each file's name, type and uploader are kept (vreception.evidence).
SOURCES = {evidence.MATTER_FILE: "registration", evidence.UPLOADED: "call"}
READ = "matter.material_read"


def materials(*, db: Session, matter_id: int) -> list[MaterialOut]:
    """The matter's materials, oldest first; a file attached or uploaded twice is listed once, as it first came."""
    events = db.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == "matter", AuditEvent.entity_id == str(matter_id), AuditEvent.action.in_(SOURCES)
        )
        .order_by(AuditEvent.seq)
    )
    out: dict[str, MaterialOut] = {}
    for event in events:
        data = json.loads(event.data)
        sha256 = data["sha256"]
        if sha256 in out:
            continue
        out[sha256] = MaterialOut(
            sha256=sha256,
            item=data["item"],
            filename=data.get("filename") or f"{sha256[:12]}",
            content_type=data["content_type"],
            bytes=data["bytes"],
            pages=data["pages"],
            source=SOURCES[event.action],
            session_id=data.get("session_id"),
            uploaded_by=event.actor_id,
            uploaded_at=event.at,
            url=f"/api/v1/matters/{matter_id}/attachments/{sha256}",
        )
    return list(out.values())


def read(
    *, db: Session, matter: Matter, sha256: str, storage_dir: Path, actor_id: int | None
) -> tuple[MaterialOut, Path]:
    """One material of MATTER (its reader checked) and where it is stored; NotFound when the matter has none such.

    Each read is audited: the materials carry the petitioner's personal data."""
    found = next((m for m in materials(db=db, matter_id=matter.id) if m.sha256 == sha256), None)
    if found is None:
        raise NotFound("error.material_not_found", field="sha256")
    path = evidence.upload_path(storage_dir, matter.id, found.sha256, found.content_type)
    if not path.is_file():
        raise NotFound("error.material_not_found", field="sha256")
    audit.record(
        db=db,
        action=READ,
        entity_type="matter",
        entity_id=matter.id,
        actor_id=actor_id,
        data={"sha256": found.sha256, "filename": found.filename, "source": found.source},
    )
    return found, path
