"""The session room as a pure reducer: session states, presence, lobby and admission."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from signaling.errors import ProtocolError
from signaling.events import (
    ALL,
    AgendaChanged,
    DeliberationChanged,
    Event,
    EvidenceEnded,
    EvidenceShown,
    FloorChanged,
    MediaSignal,
    MediaStateChanged,
    ParticipantAdmitted,
    ParticipantDenied,
    ParticipantDisconnected,
    ParticipantJoined,
    ParticipantLeft,
    RoomShowAllowed,
    ScreenShareEnded,
    ScreenShareStarted,
    Send,
    SessionStateChanged,
    Transition,
)
from signaling.messages import (
    Admit,
    Admitted,
    Agenda,
    AgendaStepName,
    AllowShow,
    Answer,
    Bye,
    Candidate,
    ClientMessage,
    Deliberation,
    Deny,
    End,
    Floor,
    GiveFloor,
    Join,
    Leave,
    Lobby,
    LobbyView,
    MediaState,
    Mute,
    Offer,
    ParticipantStatus,
    ParticipantView,
    Ping,
    Pong,
    Screen,
    ScreenView,
    ServerMessage,
    SessionInfo,
    SessionState,
    Show,
    ShowEnd,
    ShowingView,
    State,
    TakeFloor,
    Welcome,
)
from signaling.roles import DELIBERATES, PETITIONER_SIDE, Role, can

# Why a hearing's participants wait in the lobby while the panel deliberates (the page says so).
DELIBERATION_REASON = "deliberation"

ACTIVE: frozenset[str] = frozenset({"open", "live"})
JOINABLE: frozenset[str] = ACTIVE | {"booked"}
TRANSITIONS: dict[str, frozenset[str]] = {
    "booked": frozenset({"open", "cancelled", "no_show"}),
    "open": frozenset({"live", "ended", "cancelled", "no_show"}),
    "live": frozenset({"ended"}),
    "ended": frozenset(),
    "no_show": frozenset(),
    "cancelled": frozenset(),
}


class Participant(BaseModel):
    """One seat in the room; admission survives a dropped connection."""

    id: int
    role: Role
    name: str = ""
    admitted: bool = False
    connected: bool = False
    refused: bool = False
    audio: bool = True
    video: bool = True
    # Bumped on every join so a stale socket's late disconnect cannot knock out its replacement.
    connection: int = 0
    first_joined_at: datetime | None = None
    last_joined_at: datetime | None = None


class LobbyEntry(BaseModel):
    """A waiting participant and since when (the lobby keeps order of arrival)."""

    participant_id: int
    since: datetime


class Showing(BaseModel):
    """What everyone sees now (证据展示): who shows which item, at which page of how many, since when."""

    participant_id: int
    item: str
    page: int
    pages: int
    since: datetime


class ScreenShare(BaseModel):
    """A participant's screen (or window) shared with everyone as an extra video track, since when."""

    participant_id: int
    since: datetime


class Room(BaseModel):
    """Everything the signaling side knows about one session (JSON-serialisable for the shared store)."""

    session_id: int
    state: SessionState = "booked"
    participants: list[Participant] = []
    lobby: list[LobbyEntry] = []
    opened_at: datetime | None = None
    live_at: datetime | None = None
    ended_at: datetime | None = None
    showing: Showing | None = None
    # A moderator let the room's kiosk show evidence (a paper the petitioner brought, photographed in the call).
    room_may_show: bool = False
    # One screen share at a time; its media goes through the media side (an extra video track of the sharer).
    screen: ScreenShare | None = None
    # A hearing (听证): its order of proceedings, who holds the floor, and the private deliberation (合议) with
    # whoever it sent back to the lobby (they are admitted again when it ends).
    hearing: bool = False
    agenda_step: AgendaStepName | None = None
    floor: int | None = None
    deliberating: bool = False
    held: list[int] = []

    def participant(self, participant_id: int) -> Participant | None:
        """The participant with PARTICIPANT_ID, if seated."""
        return next((p for p in self.participants if p.id == participant_id), None)

    def waiting(self, participant_id: int) -> bool:
        """Whether PARTICIPANT_ID is in the lobby."""
        return any(e.participant_id == participant_id for e in self.lobby)

    def status(self, participant: Participant) -> ParticipantStatus:
        """Where PARTICIPANT stands: lobby, admitted, away or refused."""
        if participant.refused:
            return "refused"
        if participant.admitted:
            return "admitted"
        return "lobby" if self.waiting(participant.id) else "away"

    def view(self) -> State:
        """The `state` message every participant sees."""
        return State(
            session=SessionInfo(id=self.session_id, state=self.state),
            participants=[
                ParticipantView(
                    id=p.id,
                    role=p.role,
                    name=p.name,
                    status=self.status(p),
                    connected=p.connected,
                    audio=p.audio,
                    video=p.video,
                )
                for p in self.participants
            ],
            lobby=[LobbyView(participant_id=e.participant_id, since=e.since) for e in self.lobby],
            showing=None if self.showing is None else ShowingView(
                participant_id=self.showing.participant_id, item=self.showing.item, page=self.showing.page,
                pages=self.showing.pages),
            room_may_show=self.room_may_show,
            screen=None if self.screen is None else ScreenView(participant_id=self.screen.participant_id),
            agenda_step=self.agenda_step,
            floor=self.floor,
            deliberating=self.deliberating,
        )

    def to_json(self) -> str:
        """This room as JSON for the shared store."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> Room:
        """The room stored as TEXT."""
        return cls.model_validate_json(text)


def new_room(session_id: int, state: SessionState = "booked", roster: Iterable[tuple[int, Role, str]] = (), *,
             hearing: bool = False, agenda_step: AgendaStepName | None = None) -> Room:
    """A room for SESSION_ID in STATE, optionally seating the booked participants (id, role, name); a hearing's
    room starts at its AGENDA_STEP."""
    return Room(session_id=session_id, state=state, participants=[Participant(id=i, role=r, name=n) for i, r, n in roster],
                hearing=hearing, agenda_step=agenda_step)


class _Step:
    """One transition under construction: a private copy of the room and what it produces."""

    def __init__(self, room: Room, now: datetime) -> None:
        self.before = room
        self.room = room.model_copy(deep=True)
        self.now = now
        self.sends: list[Send] = []
        self.events: list[Event] = []
        self.media: list[MediaSignal] = []

    def to(self, participant: Participant, message: ServerMessage) -> None:
        self.sends.append(Send((participant.id,), message, participant.connection))

    def to_all(self, message: ServerMessage) -> None:
        self.sends.append(Send(ALL, message))

    def event(self, kind: Callable[..., Event], **fields: Any) -> None:
        self.events.append(kind(session_id=self.room.session_id, at=self.now, **fields))

    def set_state(self, new: SessionState, by: int | None) -> None:
        old = self.room.state
        if new not in TRANSITIONS[old]:
            raise ProtocolError("illegal_state", f"session cannot go from {old} to {new}")
        self.room.state = new
        stamp = {"open": "opened_at", "live": "live_at"}.get(new, "ended_at")
        setattr(self.room, stamp, self.now)
        self.event(SessionStateChanged, old=old, new=new, by=by)

    def enqueue(self, participant: Participant) -> None:
        if not self.room.waiting(participant.id):
            self.room.lobby.append(_entry(participant.id, self.now))

    def dequeue(self, participant: Participant) -> None:
        self.room.lobby = [e for e in self.room.lobby if e.participant_id != participant.id]

    def seat(self, participant_id: int) -> Participant:
        found = self.room.participant(participant_id)
        assert found is not None
        return found

    def done(self) -> Transition:
        return Transition(
            room=self.room,
            sends=tuple(self.sends),
            events=tuple(self.events),
            media=tuple(self.media),
            changed=self.room != self.before,
        )


def _entry(participant_id: int, since: datetime) -> LobbyEntry:
    return LobbyEntry(participant_id=participant_id, since=since)


def _greet(step: _Step, participant: Participant) -> None:
    session = SessionInfo(id=step.room.session_id, state=step.room.state)
    step.to(participant, Welcome(participant_id=participant.id, role=participant.role, session=session))
    if participant.admitted:
        step.to(participant, Admitted())
    else:
        step.enqueue(participant)
        step.to(participant, Lobby(reason=DELIBERATION_REASON if participant.id in step.room.held else None))


def _disconnect_everyone(step: _Step, reason: str) -> None:
    if step.room.screen is not None:
        _end_screen(step, step.room.screen.participant_id, by=None)
    step.to_all(step.room.view())
    step.to_all(Bye(reason=reason))
    for p in step.room.participants:
        p.connected = False
    step.room.lobby = []


def join(room: Room, participant_id: int, role: Role, *, now: datetime, name: str = "",
         auto_admit: bool = False) -> Transition:
    """PARTICIPANT_ID (role and name from the verified join token) connects: welcome, then lobby or admitted
    (moderators, and with AUTO_ADMIT a gallery viewer, at once; while the panel deliberates, only the panel)."""
    if room.state not in JOINABLE:
        raise ProtocolError("illegal_state", f"session is {room.state}")
    step = _Step(room, now)
    participant = step.room.participant(participant_id)
    if participant is None:
        participant = Participant(id=participant_id, role=role, name=name)
        step.room.participants.append(participant)
    elif participant.refused:
        raise ProtocolError("forbidden", "you were refused from this session")
    participant.role = role
    participant.name = name or participant.name
    resumed = participant.first_joined_at is not None
    if participant.connected:
        step.to(participant, Bye(reason="replaced"))
    participant.connection += 1
    participant.connected = True
    participant.first_joined_at = participant.first_joined_at or now
    participant.last_joined_at = now
    if step.room.state == "booked":
        step.set_state("open", by=participant_id)
    if (can(role, "moderate") or auto_admit) and not participant.admitted:
        if step.room.deliberating and role not in DELIBERATES:
            # Admitted when the deliberation ends, like everyone it sent to the lobby.
            if participant_id not in step.room.held:
                step.room.held.append(participant_id)
        else:
            participant.admitted = True
            step.event(ParticipantAdmitted, participant_id=participant_id, by=None)
    step.event(ParticipantJoined, participant_id=participant_id, role=role, resumed=resumed, admitted=participant.admitted)
    _greet(step, participant)
    step.to_all(step.room.view())
    return step.done()


def disconnect(room: Room, participant_id: int, *, now: datetime, connection: int | None = None) -> Transition:
    """PARTICIPANT_ID's socket (generation CONNECTION) dropped; a stale or repeated drop changes nothing."""
    participant = room.participant(participant_id)
    if participant is None or not participant.connected or connection not in (None, participant.connection):
        return Transition(room=room)
    step = _Step(room, now)
    participant = step.seat(participant_id)
    participant.connected = False
    step.dequeue(participant)
    _end_screen(step, participant.id, by=None)
    step.event(ParticipantDisconnected, participant_id=participant_id)
    step.to_all(step.room.view())
    return step.done()


def close(room: Room, state: Literal["cancelled", "no_show", "ended"], *, now: datetime) -> Transition:
    """Close the session from outside (cancelled, no-show, or ended by the system); everyone gets `bye`."""
    step = _Step(room, now)
    step.set_state(state, by=None)
    _disconnect_everyone(step, state)
    return step.done()


def apply(room: Room, participant_id: int, message: ClientMessage, *, now: datetime, connection: int | None = None) -> Transition:
    """The room after connected PARTICIPANT_ID sent MESSAGE; ProtocolError when refused (nothing changes)."""
    if room.state not in ACTIVE:
        raise ProtocolError("illegal_state", f"session is {room.state}")
    participant = room.participant(participant_id)
    if participant is None or not participant.connected:
        raise ProtocolError("forbidden", "not joined to this session")
    if connection not in (None, participant.connection):
        raise ProtocolError("forbidden", "this connection was replaced by a newer one")
    step = _Step(room, now)
    _HANDLERS[type(message)](step, step.seat(participant_id), message)
    return step.done()


def _require_moderator(actor: Participant, action: str) -> None:
    if not can(actor.role, "moderate"):
        raise ProtocolError("forbidden", f"only a leader, chair or coordinator may {action}")
    if not actor.admitted:
        raise ProtocolError("forbidden", f"you wait in the lobby and may not {action}")


def _sends_media(sdp: str) -> bool:
    """Whether SDP sends audio or video: an m-section not rejected and neither recvonly nor inactive."""
    session, *sections = sdp.replace("\r\n", "\n").split("\nm=")
    default = "sendrecv"
    for line in session.splitlines():
        if line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            default = line[2:]
    for section in sections:
        lines = section.splitlines()
        kind, port = (lines[0].split() + ["", ""])[:2]
        if kind not in ("audio", "video") or port == "0":
            continue
        direction = next((line[2:] for line in lines if line in ("a=sendrecv", "a=sendonly", "a=recvonly",
                                                                 "a=inactive")), default)
        if direction in ("sendrecv", "sendonly"):
            return True
    return False


def _target(step: _Step, actor: Participant, participant_id: int) -> Participant:
    target = step.room.participant(participant_id)
    if target is None:
        raise ProtocolError("invalid", f"no participant {participant_id} in this session")
    if target.id == actor.id:
        raise ProtocolError("forbidden", "you cannot do this to yourself")
    return target


def _on_join(step: _Step, actor: Participant, message: Join) -> None:
    if message.media is not None:
        _set_media(step, actor, message.media.audio, message.media.video)
    _greet(step, actor)


def _on_media(step: _Step, actor: Participant, message: Offer | Answer | Candidate) -> None:
    if not actor.admitted:
        raise ProtocolError("forbidden", "media is offered only after admission")
    if not can(actor.role, "publish") and not isinstance(message, Candidate) and _sends_media(message.sdp):
        raise ProtocolError("forbidden", f"a participant of role {actor.role} receives only: offer recvonly media")
    step.media.append(MediaSignal(actor.id, message))


def _on_admit(step: _Step, actor: Participant, message: Admit) -> None:
    _require_moderator(actor, "admit")
    target = _target(step, actor, message.participant_id)
    if target.admitted:
        raise ProtocolError("illegal_state", f"participant {target.id} is already admitted")
    if not step.room.waiting(target.id):
        raise ProtocolError("illegal_state", f"participant {target.id} is not waiting in the lobby")
    if step.room.deliberating and target.role not in DELIBERATES:
        raise ProtocolError("illegal_state", "the panel deliberates in private: only the chair and the panel may be "
                                             "admitted until it ends")
    step.dequeue(target)
    target.admitted = True
    step.to(target, Admitted())
    step.event(ParticipantAdmitted, participant_id=target.id, by=actor.id)
    if target.role in PETITIONER_SIDE and step.room.state == "open":
        step.set_state("live", by=actor.id)
    step.to_all(step.room.view())


def _on_deny(step: _Step, actor: Participant, message: Deny) -> None:
    _require_moderator(actor, "deny")
    target = _target(step, actor, message.participant_id)
    if can(target.role, "moderate"):
        raise ProtocolError("forbidden", "a leader, chair or coordinator cannot be denied")
    if target.refused:
        raise ProtocolError("illegal_state", f"participant {target.id} is already refused")
    _hold_back(step, actor, target, refuse=message.refuse, reason=message.reason)
    step.to_all(step.room.view())


def _hold_back(step: _Step, actor: Participant, target: Participant, *, refuse: bool, reason: str | None) -> None:
    """Refuse TARGET for good, or keep them (or send them back) waiting in the lobby."""
    if target.id in step.room.held and refuse:
        step.room.held.remove(target.id)
    if step.room.floor == target.id:
        step.room.floor = None
        step.event(FloorChanged, by=actor.id, participant_id=None)
    _end_screen(step, target.id, by=actor.id)
    if refuse:
        target.refused = True
        target.admitted = False
        step.dequeue(target)
        if target.connected:
            step.to(target, Bye(reason="refused"))
            target.connected = False
    else:
        if not target.connected:
            raise ProtocolError("illegal_state", f"participant {target.id} is not connected")
        # Sending an admitted participant back to the lobby (a hearing's private deliberation).
        target.admitted = False
        step.enqueue(target)
        step.to(target, Lobby(reason=reason))
    step.event(ParticipantDenied, participant_id=target.id, by=actor.id, refused=refuse, reason=reason)


def _on_leave(step: _Step, actor: Participant, message: Leave) -> None:
    step.to(actor, Bye(reason="left"))
    actor.connected = False
    step.dequeue(actor)
    if actor.id in step.room.held:
        step.room.held.remove(actor.id)
    if step.room.floor == actor.id:
        step.room.floor = None
        step.event(FloorChanged, by=actor.id, participant_id=None)
    _end_screen(step, actor.id, by=actor.id)
    # Leaving on purpose (unlike a dropped connection) gives up admission; moderators re-admit themselves.
    if not can(actor.role, "moderate"):
        actor.admitted = False
    step.event(ParticipantLeft, participant_id=actor.id)
    step.to_all(step.room.view())


def _on_end(step: _Step, actor: Participant, message: End) -> None:
    _require_moderator(actor, "end the session")
    step.set_state("ended", by=actor.id)
    _disconnect_everyone(step, "ended")


def _set_media(step: _Step, actor: Participant, audio: bool, video: bool) -> None:
    if (actor.audio, actor.video) == (audio, video):
        return
    actor.audio, actor.video = audio, video
    step.event(MediaStateChanged, participant_id=actor.id, audio=audio, video=video)
    step.to_all(step.room.view())


def _on_media_state(step: _Step, actor: Participant, message: MediaState) -> None:
    _set_media(step, actor, message.audio, message.video)


def _on_mute(step: _Step, actor: Participant, message: Mute) -> None:
    _require_moderator(actor, "mute another participant")
    target = _target(step, actor, message.participant_id)
    if not target.connected:
        raise ProtocolError("illegal_state", f"participant {target.id} is not connected")
    # The target's own page turns the microphone off; the roster shows it at once.
    step.to(target, Mute(participant_id=target.id))
    _set_media(step, target, False, target.video)


def may_show(room: Room, participant: Participant) -> bool:
    """Whether PARTICIPANT may show evidence now: the show capability, or the room while a moderator allows it."""
    if not participant.admitted:
        return False
    return can(participant.role, "show") or (participant.role == "room" and room.room_may_show)


def _end_showing(step: _Step, by: int) -> None:
    showing = step.room.showing
    if showing is not None:
        step.room.showing = None
        step.event(EvidenceEnded, by=by, item=showing.item)


def _on_show(step: _Step, actor: Participant, message: Show) -> None:
    if message.page > message.pages:
        raise ProtocolError("invalid", f"page: {message.page} is beyond the {message.pages} pages")
    current = step.room.showing
    turning = current is not None and current.item == message.item and current.participant_id == actor.id
    if turning and current is not None:
        if (current.page, current.pages) == (message.page, message.pages):
            return
        current.page, current.pages = message.page, message.pages
    else:
        if not may_show(step.room, actor):
            raise ProtocolError("forbidden", "only a leader, chair, coordinator or handler (or the room, when "
                                             "allowed) may show evidence")
        _end_showing(step, actor.id)
        step.room.showing = Showing(participant_id=actor.id, item=message.item, page=message.page,
                                    pages=message.pages, since=step.now)
    step.event(EvidenceShown, by=actor.id, item=message.item, page=message.page, pages=message.pages)
    step.to_all(step.room.view())


def _on_show_end(step: _Step, actor: Participant, message: ShowEnd) -> None:
    showing = step.room.showing
    if showing is None:
        raise ProtocolError("illegal_state", "nothing is shown")
    if showing.participant_id != actor.id and not can(actor.role, "moderate"):
        raise ProtocolError("forbidden", "only the one showing or a leader, chair or coordinator may stop the showing")
    _end_showing(step, actor.id)
    step.to_all(step.room.view())


def _on_allow_show(step: _Step, actor: Participant, message: AllowShow) -> None:
    _require_moderator(actor, "let the room show evidence")
    if step.room.room_may_show == message.allowed:
        return
    step.room.room_may_show = message.allowed
    step.event(RoomShowAllowed, by=actor.id, allowed=message.allowed)
    showing = step.room.showing
    if not message.allowed and showing is not None:
        shower = step.room.participant(showing.participant_id)
        if shower is not None and not can(shower.role, "show"):
            _end_showing(step, actor.id)
    sharer = step.room.participant(step.room.screen.participant_id) if step.room.screen is not None else None
    if not message.allowed and sharer is not None and not can(sharer.role, "show"):
        _end_screen(step, sharer.id, by=actor.id)
    step.to_all(step.room.view())


def _end_screen(step: _Step, sharer: int, by: int | None) -> None:
    """End SHARER's screen share, if they share (the media side then drops its track)."""
    screen = step.room.screen
    if screen is not None and screen.participant_id == sharer:
        step.room.screen = None
        step.event(ScreenShareEnded, participant_id=sharer, by=by)


def _on_screen(step: _Step, actor: Participant, message: Screen) -> None:
    screen = step.room.screen
    if message.active:
        if screen is not None and screen.participant_id == actor.id:
            return
        if not (may_show(step.room, actor) and can(actor.role, "publish")):
            raise ProtocolError("forbidden", "screen share: only a leader, chair, coordinator or handler (or the "
                                             "room, when allowed) may share a screen")
        if screen is not None:
            raise ProtocolError("illegal_state", "screen share: another participant shares a screen; it must stop first")
        step.room.screen = ScreenShare(participant_id=actor.id, since=step.now)
        step.event(ScreenShareStarted, by=actor.id)
    else:
        if screen is None:
            return  # already over (a moderator stopped it, or the browser's own stop came late)
        if screen.participant_id != actor.id and not can(actor.role, "moderate"):
            raise ProtocolError("forbidden", "screen share: only the one sharing or a leader, chair or coordinator "
                                             "may stop it")
        _end_screen(step, screen.participant_id, by=actor.id)
    step.to_all(step.room.view())


def _require_hearing(step: _Step, what: str) -> None:
    if not step.room.hearing:
        raise ProtocolError("illegal_state", f"{what} belongs to a hearing; this session is not one")


def _on_agenda(step: _Step, actor: Participant, message: Agenda) -> None:
    _require_moderator(actor, "run the order of proceedings")
    _require_hearing(step, "the order of proceedings")
    if step.room.agenda_step == message.step:
        return
    step.room.agenda_step = message.step
    step.event(AgendaChanged, by=actor.id, step=message.step)
    step.to_all(step.room.view())


def _mute_holder(step: _Step) -> None:
    holder = step.room.participant(step.room.floor) if step.room.floor is not None else None
    if holder is not None and holder.connected:
        step.to(holder, Mute(participant_id=holder.id))
        _set_media(step, holder, False, holder.video)


def _on_give_floor(step: _Step, actor: Participant, message: GiveFloor) -> None:
    _require_moderator(actor, "give the floor")
    _require_hearing(step, "the floor")
    target = _target(step, actor, message.participant_id)
    if not (target.admitted and target.connected):
        raise ProtocolError("illegal_state", f"participant {target.id} is not in the call")
    if not can(target.role, "publish"):
        raise ProtocolError("forbidden", f"a participant of role {target.role} does not speak in the call")
    if step.room.floor == target.id:
        return
    # One speaker at a time: whoever held the floor is muted.
    _mute_holder(step)
    step.room.floor = target.id
    step.to(target, Floor(participant_id=target.id))
    step.event(FloorChanged, by=actor.id, participant_id=target.id)
    step.to_all(step.room.view())


def _on_take_floor(step: _Step, actor: Participant, message: TakeFloor) -> None:
    _require_moderator(actor, "take the floor")
    _require_hearing(step, "the floor")
    if step.room.floor is None:
        raise ProtocolError("illegal_state", "nobody holds the floor")
    _mute_holder(step)
    step.room.floor = None
    step.event(FloorChanged, by=actor.id, participant_id=None)
    step.to_all(step.room.view())


def _on_deliberation(step: _Step, actor: Participant, message: Deliberation) -> None:
    _require_moderator(actor, "deliberate in private")
    _require_hearing(step, "the private deliberation")
    if actor.role not in DELIBERATES:
        raise ProtocolError("forbidden", "only the chair opens and closes the private deliberation")
    room = step.room
    if room.deliberating == message.active:
        raise ProtocolError("illegal_state", "the panel already deliberates" if message.active
                                             else "the panel does not deliberate")
    room.deliberating = message.active
    if message.active:
        # Everyone but the chair and the panel goes back to the lobby: the media side drops their media.
        held = [p for p in room.participants if p.admitted and p.role not in DELIBERATES and not p.refused]
        for p in held:
            if p.connected:
                _hold_back(step, actor, p, refuse=False, reason=DELIBERATION_REASON)
            else:
                # Not connected: back in the lobby when they return, until the deliberation ends.
                p.admitted = False
        room.held = [p.id for p in held]
        step.event(DeliberationChanged, by=actor.id, active=True, held=room.held)
    else:
        returning = [p for p in (room.participant(i) for i in room.held) if p is not None and not p.refused]
        room.held = []
        for p in returning:
            p.admitted = True
            if p.connected:
                step.dequeue(p)
                step.to(p, Admitted())
            step.event(ParticipantAdmitted, participant_id=p.id, by=actor.id)
        step.event(DeliberationChanged, by=actor.id, active=False, held=[p.id for p in returning])
    step.to_all(room.view())


def _on_ping(step: _Step, actor: Participant, message: Ping) -> None:
    step.to(actor, Pong())


def _on_pong(step: _Step, actor: Participant, message: Pong) -> None:
    pass


# Each handler takes the message class it is listed under.
_HANDLERS: dict[type[BaseModel], Callable[[_Step, Participant, Any], None]] = {
    Join: _on_join,
    Offer: _on_media,
    Answer: _on_media,
    Candidate: _on_media,
    Admit: _on_admit,
    Deny: _on_deny,
    Leave: _on_leave,
    End: _on_end,
    MediaState: _on_media_state,
    Mute: _on_mute,
    Show: _on_show,
    ShowEnd: _on_show_end,
    AllowShow: _on_allow_show,
    Agenda: _on_agenda,
    GiveFloor: _on_give_floor,
    TakeFloor: _on_take_floor,
    Deliberation: _on_deliberation,
    Screen: _on_screen,
    Ping: _on_ping,
    Pong: _on_pong,
}


def is_no_show(room: Room | None, *, start: datetime, grace: timedelta, now: datetime, petitioner_side: bool = True) -> bool:
    """Whether the session is a no-show: the grace period after START passed and nobody (or no petitioner side) joined."""
    if now < start + grace:
        return False
    if room is None or room.state == "booked":
        return True
    if room.state != "open" or not petitioner_side:
        return False
    return not any(p.first_joined_at is not None for p in room.participants if p.role in PETITIONER_SIDE)
