"""The coordinators' queue of online requests: filtered to their subtrees in SQL, paged."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vreception.auth.access import Principal, subtree_filter
from vreception.models import Matter, Node, Room
from vreception.models.online import OnlineKind, OnlineRequest, OnlineState
from vreception.online.access import OFFICE
from vreception.online.intake import files_of
from vreception.online.views import DraftFileOut, OnlineRequestOut, masked_id
from vreception.paging import Page, page_of


def view(request: OnlineRequest, *, db: Session) -> OnlineRequestOut:
    """One request as the queue shows it."""
    node = db.get(Node, request.node_id)
    matter = db.get(Matter, request.matter_id) if request.matter_id else None
    room = db.get(Room, request.room_id) if request.room_id else None
    place = db.get(Node, request.address_node_id) if request.address_node_id else None
    return OnlineRequestOut(
        id=request.id, kind=request.kind.value, state=request.state.value, node_id=request.node_id,
        node_name=node.name if node else "", received_at=request.received_at, matter_id=request.matter_id,
        matter_number=matter.number if matter else None,
        preferred_days=[date.fromisoformat(d) for d in request.preferred_days.split(",") if d],
        room_id=request.room_id, room_name=room.name if room else None, note=request.note, name=request.name,
        id_number_masked=masked_id(request.id_tail), phone_tail=request.phone_tail,
        address_node_id=request.address_node_id, address_name=place.name if place else None, about=request.about,
        demands=request.demands, files=[DraftFileOut(**f) for f in files_of(request)],
        decided_at=request.decided_at, reason=request.reason)


def queue(*, db: Session, principal: Principal, kind: OnlineKind | None = None,
          state: OnlineState | None = OnlineState.waiting, limit: int | None = None,
          cursor: str | None = None) -> Page[OnlineRequestOut]:
    """The requests in the principal's queues (waiting by default), oldest first, a page at a time."""
    query = select(OnlineRequest).where(subtree_filter(principal, OnlineRequest.node_path, OFFICE))
    if kind is not None:
        query = query.where(OnlineRequest.kind == kind)
    if state is not None:
        query = query.where(OnlineRequest.state == state)
    query = query.order_by(OnlineRequest.received_at, OnlineRequest.id)
    return page_of(query, db=db, item=lambda row: view(row, db=db), limit=limit, cursor=cursor)


def waiting_count(*, db: Session, principal: Principal) -> int:
    """How many requests wait in the principal's queues."""
    return db.scalar(select(func.count(OnlineRequest.id)).where(
        OnlineRequest.state == OnlineState.waiting,
        subtree_filter(principal, OnlineRequest.node_path, OFFICE))) or 0
