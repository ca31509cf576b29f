"""The video network at a glance (视频网络): per unit, rooms online now and rooms whose self-test failed today;
the sessions live now; the rooms of a unit with their status. Everything filtered to the node's subtree in SQL."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from vreception import paging
from vreception.auth.access import Principal, covers, load_node, require
from vreception.errors import Forbidden
from vreception.models import Node, NodeKind, Person, Role, Room
from vreception.models.network import RoomStatus
from vreception.models.scheduling import Participant, ReceptionSession, SessionState

# A kiosk beats every 30 s: a room not heard from for three beats is offline.
ONLINE_WITHIN = timedelta(seconds=90)
OFFICE = (Role.coordinator,)
MAX_UNITS = 500  # a province has some twenty cities, a county some forty townships
MAX_LIVE = 200


class NodeRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    level: str
    parent_id: int | None


class UnitStatus(BaseModel):
    """One unit's subtree: its active rooms, how many are online now, how many failed a self-test today."""

    node_id: int
    name: str
    level: str
    rooms: int
    online: int
    failed_today: int


class LiveSession(BaseModel):
    """A session live now (the leader admitted the petitioner), with the level of the leader's office."""

    id: int
    kind: str
    starts_at: datetime
    ends_at: datetime
    leader: str
    level: str = Field(description="the level of the leader's node: province, city, county or township")
    rooms: list[str]


class RoomState(BaseModel):
    """A room with its kiosk's last heartbeat and last self-test."""

    id: int
    name: str
    node_id: int
    node_name: str
    online: bool
    last_seen_at: datetime | None
    self_test_at: datetime | None
    self_test_ok: bool | None
    self_test_failed: list[str]
    failed_today: bool


class NetworkOut(BaseModel):
    """The network under one node: its totals, each child unit, the sessions live now."""

    node: NodeRef
    at: datetime
    online_within_s: int
    totals: UnitStatus
    units: list[UnitStatus]
    live: list[LiveSession]


def top_node(principal: Principal, *, db: Session) -> Node:
    """The highest node the coordinator (or admin) looks after: where the overview starts."""
    paths = principal.paths_for(OFFICE)
    scopes = [s for s in principal.scopes if s.path in paths]
    if not scopes:
        raise Forbidden()
    return load_node(min(scopes, key=lambda s: (s.path.count("/"), s.path)).node_id, db=db)


def viewed_node(principal: Principal, node_id: int | None, *, db: Session) -> Node:
    """NODE_ID (the reader's top node by default), if it lies in the reader's subtree as a coordinator."""
    if node_id is None:
        return top_node(principal, db=db)
    node = load_node(node_id, db=db)
    require(principal, node, OFFICE)
    return node


def start_of_day(at: datetime, zone: tzinfo) -> datetime:
    """Midnight of AT's day in the display time zone."""
    return datetime.combine(at.astimezone(zone).date(), time(0), zone)


def _counts(at: datetime, zone: tzinfo, window: timedelta) -> list[Any]:
    online = case((RoomStatus.last_seen_at >= at - window, 1), else_=0)
    failed = case((and_(RoomStatus.self_test_ok.is_(False), RoomStatus.self_test_at >= start_of_day(at, zone)), 1),
                  else_=0)
    return [func.count(Room.id), func.coalesce(func.sum(online), 0), func.coalesce(func.sum(failed), 0)]


def units(node: Node, *, db: Session, at: datetime, zone: tzinfo,
          window: timedelta = ONLINE_WITHIN) -> list[UnitStatus]:
    """Each region directly under NODE with the counts over its subtree's active rooms."""
    unit, place = aliased(Node), aliased(Node)
    query = (select(unit.id, unit.name, unit.level, *_counts(at, zone, window))
             .select_from(unit)
             .outerjoin(place, place.path.startswith(unit.path))
             .outerjoin(Room, and_(Room.node_id == place.id, Room.active.is_(True)))
             .outerjoin(RoomStatus, RoomStatus.room_id == Room.id)
             .where(unit.parent_id == node.id, unit.kind == NodeKind.region)
             .group_by(unit.id, unit.name, unit.level, unit.code).order_by(unit.code).limit(MAX_UNITS))
    return [UnitStatus(node_id=i, name=name, level=level.value, rooms=rooms, online=online, failed_today=failed)
            for i, name, level, rooms, online, failed in db.execute(query)]


def totals(node: Node, *, db: Session, at: datetime, zone: tzinfo, window: timedelta = ONLINE_WITHIN) -> UnitStatus:
    """The counts over NODE's whole subtree, its own rooms included."""
    query = (select(*_counts(at, zone, window)).select_from(Room)
             .join(Node, Node.id == Room.node_id)
             .outerjoin(RoomStatus, RoomStatus.room_id == Room.id)
             .where(Node.path.startswith(node.path, autoescape=True), Room.active.is_(True)))
    rooms, online, failed = db.execute(query).one()
    return UnitStatus(node_id=node.id, name=node.name, level=node.level.value, rooms=rooms, online=online,
                      failed_today=failed)


def live_sessions(node: Node, *, db: Session) -> list[LiveSession]:
    """Sessions live now with a leader or a participant in NODE's subtree, with the leader's level and the rooms."""
    inside = or_(ReceptionSession.node_path.startswith(node.path, autoescape=True),
                 exists(select(Participant.id).where(Participant.session_id == ReceptionSession.id,
                                                     Participant.node_path.startswith(node.path, autoescape=True))))
    query = (select(ReceptionSession, Person.name, Node.level)
             .join(Person, Person.id == ReceptionSession.leader_id).join(Node, Node.id == Person.node_id)
             .where(ReceptionSession.state == SessionState.live, inside)
             .options(selectinload(ReceptionSession.participants))
             .order_by(ReceptionSession.starts_at, ReceptionSession.id).limit(MAX_LIVE))
    found = db.execute(query).all()
    room_ids = {p.room_id for s, _, _ in found for p in s.participants if p.room_id is not None}
    names = dict(db.execute(select(Room.id, Room.name).where(Room.id.in_(room_ids))).all()) if room_ids else {}
    return [LiveSession(id=s.id, kind=s.kind.value, starts_at=s.starts_at, ends_at=s.ends_at, leader=leader,
                        level=level.value,
                        rooms=[names.get(p.room_id, p.name) for p in s.participants if p.room_id is not None])
            for s, leader, level in found]


def overview(node: Node, *, db: Session, at: datetime, zone: tzinfo,
             window: timedelta = ONLINE_WITHIN) -> NetworkOut:
    """The network under NODE at AT."""
    return NetworkOut(node=NodeRef.model_validate(node), at=at, online_within_s=int(window.total_seconds()),
                      totals=totals(node, db=db, at=at, zone=zone, window=window),
                      units=units(node, db=db, at=at, zone=zone, window=window), live=live_sessions(node, db=db))


def room_states(node: Node, *, db: Session, at: datetime, zone: tzinfo, window: timedelta = ONLINE_WITHIN,
                limit: int | None = None, cursor: str | None = None) -> paging.Page[RoomState]:
    """The active rooms of NODE's subtree with their status, by place, a page at a time."""
    query = (select(Room).join(Node, Node.id == Room.node_id)
             .where(Node.path.startswith(node.path, autoescape=True), Room.active.is_(True))
             .options(selectinload(Room.node)).order_by(Node.path, Room.id))
    rooms, total, following = paging.fetch(query, db=db, limit=limit, cursor=cursor)
    ids = [r.id for r in rooms]
    statuses = {s.room_id: s for s in db.scalars(select(RoomStatus).where(RoomStatus.room_id.in_(ids)))} if ids else {}
    today = start_of_day(at, zone)
    items = []
    for room in rooms:
        status = statuses.get(room.id)
        seen = status.last_seen_at if status else None
        tested = status.self_test_at if status else None
        ok = status.self_test_ok if status else None
        items.append(RoomState(
            id=room.id, name=room.name, node_id=room.node_id, node_name=room.node.name,
            online=seen is not None and seen >= at - window, last_seen_at=seen, self_test_at=tested,
            self_test_ok=ok, self_test_failed=[c for c in (status.self_test_failed if status else "").split(",") if c],
            failed_today=ok is False and tested is not None and tested >= today))
    return paging.Page[RoomState](items=items, total=total, next=following)


def parent_in_view(principal: Principal, node: Node, *, db: Session) -> Node | None:
    """NODE's parent when the reader also looks after it (the way back up from a drill-down)."""
    if node.parent_id is None:
        return None
    parent = load_node(node.parent_id, db=db)
    return parent if covers(principal, parent, OFFICE) else None
