"""Pages: the video network overview (coordinators, admins) and what the room kiosk reports (heartbeat, self-test)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from scheduling import network, room_status
from vreception.clock import now
from vreception.models import Role
from web.deps import DbSession
from web.pages.support import User, check_csrf, page, require_any, zone

router = APIRouter()
# The overview polls itself this often (htmx); the kiosk beats every 30 s (web/static/js/heartbeat.js).
REFRESH_SECONDS = 15
Cursor = Annotated[str | None, Query(max_length=40)]


def _context(request: Request, principal, node_id: int | None, cursor: str | None, *, db) -> dict:
    require_any(principal, Role.coordinator)
    node = network.viewed_node(principal, node_id, db=db)
    at = now()
    return {"view": network.overview(node, db=db, at=at, zone=zone(request)),
            "rooms": network.room_states(node, db=db, at=at, zone=zone(request), cursor=cursor),
            "up": network.parent_in_view(principal, node, db=db), "cursor": cursor or "",
            "refresh": REFRESH_SECONDS}


@router.get("/network")
def network_page(request: Request, principal: User, db: DbSession, node_id: int | None = None,
                 cursor: Cursor = None):
    """The network under the reader's top node (or a unit they drill into), refreshed every few seconds."""
    return page(request, "network.html", principal, **_context(request, principal, node_id, cursor, db=db))


@router.get("/network/live")
def network_live(request: Request, principal: User, db: DbSession, node_id: int | None = None,
                 cursor: Cursor = None):
    """The overview's body, polled by htmx."""
    return page(request, "network_live.html", principal, **_context(request, principal, node_id, cursor, db=db))


@router.post("/kiosk/heartbeat")
def kiosk_heartbeat(request: Request, principal: User, db: DbSession):
    """The kiosk page's beat (page sign-in and the CSRF header, as its other scripts): each of its rooms is on."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    rooms = room_status.own_rooms(principal)
    at = now()
    client = request.headers.get("user-agent", "")
    recorded = [r for r in rooms if room_status.heartbeat(db=db, room_id=r, at=at, client=client)]
    return JSONResponse({"rooms": rooms, "recorded": recorded, "at": at.isoformat(), "every_s": 30})


@router.post("/self-test/result")
def self_test_result(body: room_status.SelfTestIn, request: Request, principal: User, db: DbSession):
    """The self-test page's outcome becomes the last self-test of the kiosk's rooms."""
    check_csrf(request, request.headers.get("x-csrf-token"))
    rooms = room_status.own_rooms(principal)
    at = now()
    for room_id in rooms:
        room_status.record_self_test(db=db, room_id=room_id, result=body, at=at, actor_id=principal.person_id)
    return JSONResponse({"rooms": rooms, "ok": not body.failed(), "failed": body.failed(), "at": at.isoformat()})
