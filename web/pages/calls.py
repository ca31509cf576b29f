"""The call page (leader, coordinator, room kiosk, hearing member) and the device self-test."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse

from scheduling import access, home_join
from scheduling.booking import load_session
from scheduling.join import issue_join_token, not_open_yet, opens_at
from scheduling.queries import next_of_leader
from scheduling.views import people_of
from signaling.roles import ROLES, can, capabilities_of
from vreception import records, tasks, turn
from vreception.auth.access import Principal
from vreception.cases import access as matters
from vreception.cases import queries
from vreception.cases.deadlines import end_of_day
from vreception.clock import now
from vreception.errors import Forbidden, Invalid, NotFound
from vreception.hearings import agenda as hearing_agenda
from vreception.i18n import translate
from vreception.models import Matter
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind
from vreception.records import access as record_access
from vreception.tasks.access import require_can_assign
from web import csrf
from web.deps import DbSession, PagePrincipal, language
from web.pages.support import page, policy
from web.responses import recording_media
from web.templating import render

router = APIRouter()
CALL_MESSAGES = [
    "call.waiting",
    "call.admitted",
    "call.lobby_empty",
    "call.admit",
    "call.keep_waiting",
    "call.ended",
    "call.left",
    "call.quality.good",
    "call.quality.fair",
    "call.quality.poor",
    "call.reconnecting",
    "call.mic_on",
    "call.mic_off",
    "call.cam_on",
    "call.cam_off",
    "call.recording",
    "call.you",
    "call.state.booked",
    "call.state.open",
    "call.state.live",
    "call.state.ended",
    "call.muted",
    "call.camera_off",
    "call.refused",
    "call.replaced",
    "call.device_error",
    "call.record_saved",
    "call.task_assigned",
    "call.mute_other",
    "call.muted_by_moderator",
    "call.after.title",
    "call.after.returning",
    "call.after.released",
    "call.in_room",
    # A hearing's order of proceedings, floor and private deliberation.
    "call.agenda.none",
    "call.agenda.current",
    "call.floor.holder",
    "call.floor.nobody",
    "call.floor.give",
    "call.floor.take",
    "call.floor.yours",
    "call.deliberation.start",
    "call.deliberation.end",
    "call.deliberation.on",
    "call.deliberation.waiting",
    # The chair's 回避 decisions and the panel's opinions beside the video.
    "call.agenda.panel_incomplete",
    "call.hearing.recusals_none",
    "call.hearing.pending",
    "call.hearing.granted",
    "call.hearing.refused",
    "call.hearing.grant",
    "call.hearing.refuse",
    "call.hearing.decision_reason",
    "call.hearing.office_decides",
    "call.hearing.opinion_none",
    "call.hearing.opinions_none",
    "call.hearing.requested_by_label",
]
# The order of proceedings, in order (vreception.models.hearings.AgendaStep), with each step's label.
AGENDA_LABELS = {
    "opening": "call.agenda.opening",
    "petitioner_states": "call.agenda.petitioner_states",
    "handler_answers": "call.agenda.handler_answers",
    "cross_examination": "call.agenda.cross_examination",
    "final_statements": "call.agenda.final_statements",
    "deliberation": "call.agenda.deliberation",
    "conclusion": "call.agenda.conclusion",
}
# How long the township screen shows the end of the call before it moves on (rating, signing or its start screen).
KIOSK_AFTER_SECONDS = 8
# An early call page looks again at least this often (a kiosk left on it enters by itself once the call opens).
EARLY_RELOAD_SECONDS = 300


def _booking(principal: Principal | None, session_id: int, *, db, seat: bool = False):
    """The session and the principal's own seat in it (a coordinator's seat is made when its token is asked)."""
    if principal is None:
        return None, None
    booking = load_session(session_id, db=db)
    participant = access.own_seat(principal, booking)
    if participant is None and access.can_manage(principal, booking):
        participant = (
            access.seat_for(principal, booking, db=db)
            if seat
            else Participant(id=None, role="coordinator", person_id=principal.person_id, name=principal.name)
        )
    if participant is None:
        raise Forbidden()
    return booking, participant


def _matter_for(principal: Principal, booking: ReceptionSession, *, db) -> Matter | None:
    """The session's matter if the principal may read it: running the lobby does not open the case file."""
    if booking.matter_id is None:
        return None
    matter = matters.load(booking.matter_id, db=db)
    return matter if matters.can_read(principal, matter, db=db) else None


@router.get("/calls/{session_id}")
def call_page(session_id: int, request: Request, principal: PagePrincipal, session: DbSession):
    """The call: video, participants, lobby with admit (for leaders and coordinators), controls."""
    # A phone that passed its SMS code (手机视频接访) takes its one seat; nobody else is signed out here.
    home = _home_seat(request, session_id, db=session) if principal is None else None
    if home is not None:
        booking, participant = home.booking, home.participant
    else:
        booking, participant = _booking(principal, session_id, db=session)
        if principal is None or booking is None:  # no principal, no booking
            return RedirectResponse("/login", status_code=303)
        if not_open_yet(policy(request), booking):
            return _not_open_yet(request, principal, booking, participant, db=session)
    lang = language(request)
    matter = _matter_for(principal, booking, db=session) if principal is not None else None
    leader = people_of(booking, db=session)["leader"]
    messages = {key: translate(key, lang) for key in CALL_MESSAGES}
    messages.update({f"pages.participant.{r}": translate(f"pages.participant.{r}", lang) for r in ROLES})
    moderator = can(participant.role, "moderate")
    hearing = booking.kind is SessionKind.hearing
    agenda = [{"step": step, "label": translate(key, lang)} for step, key in AGENDA_LABELS.items()] if hearing else []
    after = _after(booking, participant, matter, db=session)
    config = {
        "sessionId": booking.id,
        "participantId": participant.id,
        "role": participant.role,
        "iceServers": request.app.state.settings.ice_servers,
        "moderator": moderator,
        "capabilities": capabilities_of(participant.role),
        "names": {str(p.id): p.name for p in booking.participants},
        "roster": _roster(booking, home_join.roster_labels(booking, lang, db=session)),
        "homeSeatsUrl": f"/calls/{booking.id}/home-seats" if principal is not None else None,
        # The phone's front camera (facingMode user) for a seat joining from home.
        "facingMode": "user" if home is not None else None,
        "after": after,
        "hearing": hearing,
        "agenda": agenda,
        "chairDesk": _chair_desk(principal, booking, request.app.state.settings.hearing_panel_sizes, lang, db=session)
        if hearing and principal is not None
        else None,
    }
    desk = (_desk_files(principal, booking, matter, request.app.state.protector, db=session)
            if moderator and principal is not None else None)
    # The recorder (记录员) of a hearing writes the 笔录 beside the video without moderating the call.
    notes_only = (
        desk is None and participant.role == "recorder" and principal is not None
        and record_access.may_write(principal, booking, db=session)
    )
    return render(
        request,
        "call.html",
        principal=principal,
        booking=booking,
        participant=participant,
        matter=matter,
        leader=leader,
        desk=desk,
        notes_only=notes_only,
        call_config=config,
        call_messages=messages,
        moderator=moderator,
        publisher=can(participant.role, "publish"),
        after=after,
        hearing=hearing,
        agenda=agenda,
        chair_desk=config["chairDesk"],
        phone=home is not None,
    )


def _home_seat(request: Request, session_id: int, *, db) -> home_join.Opened | None:
    """The seat a phone's SMS-verified credential takes in this session, or None."""
    return home_join.seat_of(db=db, policy=policy(request), secret=request.app.state.secret, session_id=session_id,
                             credential=request.cookies.get(home_join.COOKIE))


def _not_open_yet(request: Request, principal: Principal, booking: ReceptionSession, participant: Participant, *, db):
    """Before the call opens, the page only says when it opens: no seat, no token, no change of state."""
    rules = policy(request)
    opens = opens_at(rules, booking)
    wait = int((opens - now()).total_seconds()) + 1
    back = (
        "/kiosk"
        if participant.role == "room"
        else f"/sessions/{booking.id}"
        if access.can_see(principal, booking)
        else "/"
    )
    return page(
        request,
        "call_not_open.html",
        principal,
        booking=booking,
        opens=opens,
        leader=people_of(booking, db=db)["leader"],
        back=back,
        reload=max(5, min(wait, EARLY_RELOAD_SECONDS)),
        minutes=int(rules.call_open_lead.total_seconds() // 60),
    )


def _chair_desk(principal: Principal, booking: ReceptionSession, sizes, lang: str, *, db) -> dict | None:
    """What the hearing's chair (回避 decisions, opinions) and recorder (opinions) get beside the video, and whether
    the panel is complete enough to go past the opening."""
    held = hearing_agenda.of_session(booking.id, db=db)
    if held is None or principal.person_id not in (held.chair_id, held.recorder_id):
        return None
    short = hearing_agenda.short_of(held, sizes)
    return {
        "hearingId": held.id,
        "recusals": principal.person_id == held.chair_id,
        "opinions": True,
        "short": translate(short.message_key, lang, **short.params) if short is not None else None,
    }


def _roster(booking: ReceptionSession, home: dict[int, str] | None = None) -> list[dict]:
    """Every seat for the page: id, role, name, the room seat a person booked by name sits in (not one joining from
    home), and what the list says of a seat joining from home."""
    home = home or {}
    rooms = [p.id for p in booking.participants if p.room_id is not None]
    # Name-only seats carry no room. Booking seats the rooms it was asked for before the leader's plan rooms,
    # so the people booked by name sit in the first.
    room = rooms[0] if rooms else None
    return [
        {
            "id": p.id,
            "role": p.role,
            "name": p.name,
            "room": room if p.person_id is None and p.room_id is None and p.id not in home else None,
            "home": home.get(p.id),
        }
        for p in booking.participants
    ]


def _after(booking: ReceptionSession, participant: Participant, matter: Matter | None, *, db) -> dict:
    """Where the page goes when the call is over: the kiosk moves on by itself; the others get links."""
    if participant.role == "room":
        return {"kiosk": f"/kiosk/sessions/{booking.id}/after", "seconds": KIOSK_AFTER_SECONDS}
    out: dict = {"matter": f"/matters/{matter.id}" if matter is not None else None}
    if participant.person_id is not None and participant.person_id == booking.leader_id:
        following = next_of_leader(booking, db=db)
        out["next"] = f"/calls/{following.id}" if following is not None else None
        out["nextAt"] = following.starts_at.isoformat() if following is not None else None
        out["agenda"] = "/agenda"
        out["record"] = f"/sessions/{booking.id}/record" if matter is not None else None
    return out


@router.post("/calls/{session_id}/token")
def call_token(session_id: int, request: Request, principal: PagePrincipal, session: DbSession):
    """A fresh join token for the page's own seat (the page asks again when one expires)."""
    csrf.check(request, request.headers.get("x-csrf-token"))
    home = _home_seat(request, session_id, db=session) if principal is None else None
    if home is not None:
        booking, participant = home.booking, home.participant
        token, expires = home_join.join_token(db=session, policy=policy(request), secret=request.app.state.secret,
                                              opened=home)
    else:
        booking, participant = _booking(principal, session_id, db=session, seat=True)
        if principal is None or booking is None:  # no principal, no booking
            raise Forbidden()
        token, expires, _ = issue_join_token(
            db=session,
            policy=policy(request),
            secret=request.app.state.secret,
            principal=principal,
            booking=booking,
            participant_id=participant.id,
        )
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return JSONResponse(
        {
            "token": token,
            "ws_url": f"{scheme}://{request.url.netloc}/ws/sessions/{booking.id}?token={token}",
            "expires_at": expires.isoformat(),
            # The TURN relay's credentials are the page's own and time-limited: fresh with every token.
            "ice_servers": turn.participant_ice_servers(request.app.state.settings, participant.id),
        }
    )


def _desk_files(principal: Principal, booking: ReceptionSession, matter: Matter | None, protector, *, db):
    """What the leader reads beside the video: the petitioners and their other matters, demands, earlier
    sessions, documents; units to assign."""
    if matter is None:
        return None
    view = queries.matter_view(db=db, principal=principal, matter=matter, protector=protector, repeats=[])
    earlier = [s for s in queries.sessions_of(matter, db=db) if s.id != booking.id]
    units = queries.units_for(matter, db=db) if matters.is_assigner(principal, matter, db=db) else []
    return {
        "matter": matter,
        "petitioners": view.petitioners,
        "origin": queries.places_of(matter, db=db)["origin"],
        "same_people": queries.same_people_matters(db=db, principal=principal, matter=matter),
        "earlier": earlier,
        "documents": view.documents,
        "units": units,
    }


def _moderator(principal: Principal | None, session_id: int, *, db) -> tuple[ReceptionSession, Matter]:
    """The session and its matter, for a moderator of the call who may act on the matter."""
    booking, participant = _booking(principal, session_id, db=db)
    if principal is None or booking is None or not can(participant.role, "moderate"):  # no principal, no booking
        raise Forbidden()
    if booking.matter_id is None:
        raise NotFound("error.matter_not_found")
    matter = matters.load_readable(principal, booking.matter_id, db=db)
    if booking.leader_id != principal.person_id:
        matters.require_assigner(principal, matter, db=db)
    return booking, matter


@router.post("/calls/{session_id}/record")
def save_reception_record(
    session_id: int,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    notes: str = Form(max_length=20_000),
    csrf_token: str = Form(default=""),
):
    """The notes become a time-stamped entry of the reception record (接谈记录), signed at the kiosk after the call."""
    csrf.check(request, csrf_token or request.headers.get("x-csrf-token"))
    if principal is None:
        raise Forbidden()
    booking = load_session(session_id, db=session)
    record_access.require_writer(principal, booking, db=session)
    entry = records.add_entry(db=session, booking=booking, text=notes, actor_id=principal.person_id)
    # The desk lists what was saved by this label and link: the record's page, where it is later confirmed.
    return JSONResponse(
        {
            "id": entry.id,
            "offset_s": entry.offset_s,
            "number": translate("records.entry_saved", language(request), n=len(entry.record.entries)),
            "url": f"/sessions/{booking.id}/record",
        }
    )


@router.post("/calls/{session_id}/tasks")
def assign_during_call(
    session_id: int,
    request: Request,
    principal: PagePrincipal,
    session: DbSession,
    unit_node_id: int = Form(),
    title: str = Form(max_length=200),
    due_on: str = Form(max_length=10),
    detail: str = Form(default="", max_length=10_000),
    csrf_token: str = Form(default=""),
):
    """Assign a follow-up task (交办) during the call; it belongs to the matter and this session."""
    csrf.check(request, csrf_token or request.headers.get("x-csrf-token"))
    if principal is None:
        raise Forbidden()
    booking, matter = _moderator(principal, session_id, db=session)
    try:
        day = date.fromisoformat(due_on)
    except ValueError:
        raise Invalid("error.invalid_field", field="due_on", reason="YYYY-MM-DD") from None
    # The same due time as a task assigned from the matter page: the end of the chosen day.
    due_at = end_of_day(day)
    require_can_assign(principal, matter, unit_node_id, db=session)
    task = tasks.create(
        db=session,
        matter=matter,
        unit_node_id=unit_node_id,
        title=title,
        due_at=due_at,
        detail=detail,
        actor_id=principal.person_id,
        session_id=booking.id,
    )
    return JSONResponse({"id": task.id, "title": task.title, "due_at": task.due_at.isoformat()}, status_code=201)


@router.get("/recordings/{recording_id}/media")
def recording_media_page(recording_id: int, request: Request, principal: PagePrincipal, session: DbSession):
    """A recording for the page's player (cookie sign-in; same access and Range handling as the API)."""
    if principal is None:
        raise Forbidden()
    return recording_media(request, principal, recording_id, db=session)


@router.get("/self-test")
def self_test(request: Request, principal: PagePrincipal):
    """The device self-test of a video room: camera, microphone, speaker, network."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "self_test.html", principal=principal)
