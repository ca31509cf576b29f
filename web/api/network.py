"""The video network (视频网络): the overview under a node, its rooms' status, and a room kiosk's heartbeat."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from scheduling import network, room_status
from vreception.clock import now
from vreception.paging import MAX_LIMIT, Page
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppPolicy

router = APIRouter(tags=["network"])


class HeartbeatOut(BaseModel):
    room_id: int
    at: datetime
    recorded: bool  # false when the room's last beat was written only seconds ago (the beat still counts)


@router.get("/network", response_model=network.NetworkOut,
            responses=responses(403, 404, 422, s404="node_not_found"))
def network_overview(principal: ApiPrincipal, db: DbSession, rules: AppPolicy,
                     node_id: int | None = None) -> network.NetworkOut:
    """Under NODE_ID (the caller's top node by default): rooms online and failed today per child unit, live sessions."""
    node = network.viewed_node(principal, node_id, db=db)
    return network.overview(node, db=db, at=now(), zone=rules.zone)


@router.get("/network/rooms", response_model=Page[network.RoomState],
            responses=responses(403, 404, 422, s404="node_not_found"))
def network_rooms(principal: ApiPrincipal, db: DbSession, rules: AppPolicy, node_id: int | None = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
                  cursor: Annotated[str | None, Query(max_length=40)] = None) -> Page[network.RoomState]:
    """The rooms under NODE_ID with their kiosk's last heartbeat and self-test, paged."""
    node = network.viewed_node(principal, node_id, db=db)
    return network.room_states(node, db=db, at=now(), zone=rules.zone, limit=limit, cursor=cursor)


@router.post("/rooms/{room_id}/heartbeat", response_model=HeartbeatOut, responses=responses(403, 422))
def room_heartbeat(room_id: int, request: Request, principal: ApiPrincipal, db: DbSession) -> HeartbeatOut:
    """The room's kiosk says it is on (every 30 s); only the room's own account may."""
    room_status.require_own_room(principal, room_id)
    at = now()
    recorded = room_status.heartbeat(db=db, room_id=room_id, at=at, client=request.headers.get("user-agent", ""))
    return HeartbeatOut(room_id=room_id, at=at, recorded=recorded)
