"""The call page (leader, coordinator, room kiosk, hearing member) and the device self-test."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse

from scheduling.access import can_manage
from scheduling.join import issue_join_token, may_join_as
from vreception import audit
from scheduling.policy import policy_from
from vreception.auth.access import Principal
from vreception.errors import Forbidden, NotFound
from vreception.i18n import translate
from vreception.models import Matter, Person
from vreception.models.scheduling import Participant, ReceptionSession
from web import csrf
from web.deps import DbSession, PagePrincipal, language
from web.templating import render

router = APIRouter()
CALL_MESSAGES = [
    "call.waiting", "call.admitted", "call.lobby_empty", "call.admit", "call.keep_waiting", "call.ended",
    "call.left", "call.quality.good", "call.quality.fair", "call.quality.poor", "call.reconnecting",
    "call.mic_on", "call.mic_off", "call.cam_on", "call.cam_off", "call.recording", "call.you",
    "call.state.booked", "call.state.open", "call.state.live", "call.state.ended", "call.muted", "call.camera_off",
    "call.refused", "call.replaced", "call.device_error",
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
    return render(request, "call.html", principal=principal, booking=booking, participant=participant, matter=matter,
                  leader=leader, config_json=json.dumps(config, ensure_ascii=False),
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


@router.get("/self-test")
def self_test(request: Request, principal: PagePrincipal):
    """The device self-test of a video room: camera, microphone, speaker, network."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "self_test.html", principal=principal)
