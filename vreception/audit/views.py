"""Read models of the audit log: an event as the browse list shows it, and a verify's outcome."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

# Objects with a page of their own: the event links to it (the page checks access again).
LINKS = {"matter": "/matters/{}", "session": "/sessions/{}", "task": "/tasks/{}"}


class AuditEventOut(BaseModel):
    """One audited event: when, who, what on which object, at which node (the actor's)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int = Field(description="the event's place in the hash chain")
    at: datetime
    actor_id: int | None = Field(description="the person who acted; null for jobs and the installation")
    actor_name: str | None
    action: str
    object_type: str
    object_id: str
    node_id: int | None = Field(description="the actor's node; null without an actor")
    node_name: str | None
    link: str | None = Field(description="the page of the object, where it has one")


class VerifyOut(BaseModel):
    """The outcome of verifying the audit chain."""

    ok: bool
    checked: int = Field(description="how many events were recomputed")
    full: bool = Field(description="whether the walk started at the genesis")
    from_checkpoint: int | None = Field(description="the seq of the signed checkpoint the walk started after")
    broken_at: int | None = Field(default=None, description="the first seq that does not match")
    problems: list[str] = Field(default_factory=list)
    rejected_checkpoint: bool = Field(default=False, description="the newest checkpoint's signature did not hold")
    seconds: float


def event_out(row) -> AuditEventOut:  # type: ignore[no-untyped-def]
    """The read model of one (event, actor name, node id, node name) row."""
    event = row.AuditEvent
    link = LINKS.get(event.entity_type)
    return AuditEventOut(id=event.id, seq=event.seq, at=event.at, actor_id=event.actor_id, actor_name=row.actor_name,
                         action=event.action, object_type=event.entity_type, object_id=event.entity_id,
                         node_id=row.node_id, node_name=row.node_name,
                         link=link.format(event.entity_id) if link and event.entity_id.isdigit() else None)
