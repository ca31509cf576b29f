"""The call page (leader, coordinator, room kiosk, hearing member) and the device self-test."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from scheduling.access import can_manage
from scheduling.join import issue_join_token, may_join_as
from sqlalchemy import select

from vreception import audit, documents, tasks
from vreception.cases.actions import addressee
from scheduling.policy import policy_from
from vreception.auth.access import Principal
from vreception.errors import Forbidden, Invalid, NotFound
from vreception.i18n import translate
from vreception.models import Document, Matter, Node, NodeKind, Person
from vreception.models.scheduling import Participant, ReceptionSession
from web import csrf
from web.api.recordings import serve_media
from web.deps import DbSession, PagePrincipal, language
from web.templating import render

router = APIRouter()
CALL_MESSAGES = [
    "call.waiting", "call.admitted", "call.lobby_empty", "call.admit", "call.keep_waiting", "call.ended",
    "call.left", "call.quality.good", "call.quality.fair", "call.quality.poor", "call.reconnecting",
    "call.mic_on", "call.mic_off", "call.cam_on", "call.cam_off", "call.recording", "call.you",
    "call.state.booked", "call.state.open", "call.state.live", "call.state.ended", "call.muted", "call.camera_off",
    "call.refused", "call.replaced", "call.device_error", "call.record_saved", "call.task_assigned",
]


def my_participant(session, principal: Principal, booking: ReceptionSession):
    """The seat the signed-in person takes in BOOKING: their own, their room's, or the leader's."""
    mine = [p for p in booking.participants if p.person_id == principal.person_id]
    rooms = {s.room_id for s in principal.scopes if s.room_id}
    mine += [p for p in booking.participants if p.room_id in rooms]
    if booking.leader_id == principal.person_id:
        mine += [p for p in booking.participants if p.role == "leader"]
    mine = [p for p in mine if may_join_as(principal, booking, p)]
    return mine[0] if mine else None


def coordinator_seat(session, principal: Principal, booking: ReceptionSession) -> Participant:
    """A seat for a coordinator over the session who was not named in it (to run the lobby)."""
    seat = Participant(role="coordinator", person_id=principal.person_id, name=principal.name)
    booking.participants.append(seat)
    session.flush()
    audit.record(session, action="session.coordinator_seated", entity_type="session", entity_id=booking.id,
                 actor_id=principal.person_id, data={"participant_id": seat.id})
    return seat


def _booking(session, principal: Principal | None, session_id: int, *, seat: bool = False):
    if principal is None:
        return None, None
    booking = session.get(ReceptionSession, session_id)
    if booking is None:
        raise NotFound("error.session_not_found", id=session_id)
    participant = my_participant(session, principal, booking)
    if participant is None and can_manage(principal, booking):
        # The page shows a coordinator's seat; it is created when the page asks for its token.
        participant = coordinator_seat(session, principal, booking) if seat else \
            Participant(id=None, role="coordinator", person_id=principal.person_id, name=principal.name)
    if participant is None:
        raise Forbidden()
    return booking, participant


@router.get("/calls/{session_id}")
def call_page(session_id: int, request: Request, principal: PagePrincipal, session: DbSession):
    """The call: video, participants, lobby with admit (for leaders and coordinators), controls."""
    booking, participant = _booking(session, principal, session_id)
    if booking is None:
        return RedirectResponse("/login", status_code=303)
    lang = language(request)
    matter = session.get(Matter, booking.matter_id) if booking.matter_id else None
    leader = session.get(Person, booking.leader_id)
    messages = {key: translate(key, lang) for key in CALL_MESSAGES}
    config = {
        "sessionId": booking.id, "participantId": participant.id, "role": participant.role,
        "iceServers": request.app.state.settings.ice_servers,
        "moderator": participant.role in ("leader", "coordinator"),
        "names": {str(p.id): p.name for p in booking.participants},
    }
    desk = _desk_files(session, booking, matter) if participant.role in ("leader", "coordinator") else None
    return render(request, "call.html", principal=principal, booking=booking, participant=participant, matter=matter,
                  leader=leader, desk=desk, config_json=json.dumps(config, ensure_ascii=False),
                  messages_json=json.dumps(messages, ensure_ascii=False))


@router.post("/calls/{session_id}/token")
def call_token(session_id: int, request: Request, principal: PagePrincipal, session: DbSession):
    """A fresh join token for the page's own seat (the page asks again when one expires)."""
    csrf.check(request, request.headers.get("x-csrf-token"))
    booking, participant = _booking(session, principal, session_id, seat=True)
    if booking is None:
        raise Forbidden()
    token, expires, _ = issue_join_token(session, policy=policy_from(request.app.state.settings),
                                         secret=request.app.state.secret, principal=principal, booking=booking,
                                         participant_id=participant.id)
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return JSONResponse({"token": token, "ws_url": f"{scheme}://{request.url.netloc}/ws/sessions/{booking.id}?token={token}",
                         "expires_at": expires.isoformat()})


def _desk_files(session, booking: ReceptionSession, matter):
    """What the leader reads beside the video: demands, earlier sessions, notices; units to assign."""
    if matter is None:
        return None
    earlier = session.scalars(select(ReceptionSession).where(ReceptionSession.matter_id == matter.id,
                                                             ReceptionSession.id != booking.id)
                              .order_by(ReceptionSession.starts_at)).all()
    notices = session.scalars(select(Document).where(Document.matter_id == matter.id).order_by(Document.id)).all()
    office = session.get(Node, matter.handling_node_id)
    units = session.scalars(select(Node).where(Node.kind == NodeKind.department,
                                               Node.path.startswith(office.path, autoescape=True))
                            .order_by(Node.code).limit(200)).all()
    return {"matter": matter, "earlier": earlier, "documents": notices, "units": units}


def _moderator(principal: Principal | None, session, session_id: int):
    booking, participant = _booking(session, principal, session_id)
    if booking is None or participant.role not in ("leader", "coordinator"):
        raise Forbidden()
    if booking.matter_id is None:
        raise NotFound("error.matter_not_found")
    return booking, session.get(Matter, booking.matter_id)


@router.post("/calls/{session_id}/record")
def save_reception_record(session_id: int, request: Request, principal: PagePrincipal, session: DbSession,
                          notes: str = Form(max_length=20_000), csrf_token: str = Form(default="")):
    """The leader's notes become the reception record (接谈记录), a numbered and hashed document."""
    csrf.check(request, csrf_token or request.headers.get("x-csrf-token"))
    booking, matter = _moderator(principal, session, session_id)
    if not notes.strip():
        raise Invalid("error.notes_required", field="notes")
    leader = session.get(Person, booking.leader_id)
    zone = ZoneInfo(request.app.state.settings.time_zone)
    rooms = [p.name for p in booking.participants if p.room_id]
    document = documents.issue(
        session, matter=matter, kind="reception_record", actor_id=principal.person_id, addressee=addressee(matter),
        session_time=booking.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        leader=f"{leader.name}（{leader.title}）", place="、".join(rooms) or "—", notes=notes.strip())
    return JSONResponse({"id": document.id, "number": document.number, "url": f"/documents/{document.id}.html"})


@router.post("/calls/{session_id}/tasks")
def assign_during_call(session_id: int, request: Request, principal: PagePrincipal, session: DbSession,
                       unit_node_id: int = Form(), title: str = Form(max_length=200),
                       due_on: str = Form(max_length=10), detail: str = Form(default="", max_length=10_000),
                       csrf_token: str = Form(default="")):
    """Assign a follow-up task (交办) during the call; it belongs to the matter and this session."""
    csrf.check(request, csrf_token or request.headers.get("x-csrf-token"))
    booking, matter = _moderator(principal, session, session_id)
    try:
        day = date.fromisoformat(due_on)
    except ValueError:
        raise Invalid("error.invalid_field", field="due_on", reason="YYYY-MM-DD") from None
    zone = ZoneInfo(request.app.state.settings.time_zone)
    due_at = datetime.combine(day, time(17, 30), zone)
    task = tasks.create(session, matter=matter, unit_node_id=unit_node_id, title=title, due_at=due_at, detail=detail,
                        actor_id=principal.person_id, session_id=booking.id)
    return JSONResponse({"id": task.id, "title": task.title, "due_at": task.due_at.isoformat()}, status_code=201)


@router.get("/recordings/{recording_id}/media")
def recording_media(recording_id: int, request: Request, principal: PagePrincipal, session: DbSession):
    """A recording for the page's player (cookie sign-in; same access and Range handling as the API)."""
    if principal is None:
        raise Forbidden()
    return serve_media(request, session, principal, recording_id)


@router.get("/self-test")
def self_test(request: Request, principal: PagePrincipal):
    """The device self-test of a video room: camera, microphone, speaker, network."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "self_test.html", principal=principal)
