"""What a room transition produces: messages to send, domain events to audit, media to route."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from signaling.messages import (
    AgendaStepName,
    Answer,
    Candidate,
    Offer,
    ServerMessage,
    SessionState,
    to_dict,
)
from signaling.roles import Role

if TYPE_CHECKING:
    from signaling.rooms import Room

ALL: Literal["all"] = "all"

_server_message = TypeAdapter(ServerMessage)


class Send(NamedTuple):
    """MESSAGE for the participants TO ("all": every connected one); CONNECTION pins one socket generation."""

    to: tuple[int, ...] | Literal["all"]
    message: ServerMessage
    connection: int | None = None

    def reaches(self, participant_id: int, connection: int | None = None) -> bool:
        """Whether a local socket of PARTICIPANT_ID (of generation CONNECTION) should get this."""
        if self.to != ALL and participant_id not in self.to:
            return False
        return self.connection is None or connection is None or self.connection == connection

    def to_envelope(self) -> dict[str, Any]:
        """This send as a JSON-ready dict for the bus."""
        to = self.to if self.to == ALL else list(self.to)
        return {"to": to, "connection": self.connection, "message": to_dict(self.message)}

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> Send:
        """The send a bus envelope carries."""
        to = envelope["to"]
        return cls(
            to=ALL if to == ALL else tuple(to),
            message=_server_message.validate_python(envelope["message"], strict=False),
            connection=envelope.get("connection"),
        )


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_id: int
    at: datetime


class SessionStateChanged(_Event):
    """The session moved from OLD to NEW (BY: the participant who caused it, if any)."""

    kind: Literal["session_state_changed"] = "session_state_changed"
    old: SessionState
    new: SessionState
    by: int | None = None


class ParticipantJoined(_Event):
    """A participant connected (RESUMED: they had connected before)."""

    kind: Literal["participant_joined"] = "participant_joined"
    participant_id: int
    role: Role
    resumed: bool
    admitted: bool


class ParticipantAdmitted(_Event):
    """A participant was admitted (BY None: automatically, as leader or coordinator)."""

    kind: Literal["participant_admitted"] = "participant_admitted"
    participant_id: int
    by: int | None


class ParticipantDenied(_Event):
    """A leader or coordinator kept a participant waiting, or refused them."""

    kind: Literal["participant_denied"] = "participant_denied"
    participant_id: int
    by: int
    refused: bool
    reason: str | None = None


class ParticipantLeft(_Event):
    """A participant left on purpose."""

    kind: Literal["participant_left"] = "participant_left"
    participant_id: int


class ParticipantDisconnected(_Event):
    """A participant's connection dropped; admission is kept for the rejoin."""

    kind: Literal["participant_disconnected"] = "participant_disconnected"
    participant_id: int


class MediaStateChanged(_Event):
    """A participant muted or unmuted audio or video."""

    kind: Literal["media_state_changed"] = "media_state_changed"
    participant_id: int
    audio: bool
    video: bool


class EvidenceShown(_Event):
    """BY showed ITEM to everyone at PAGE of PAGES: a new showing or a page turn (audited; in the recording's manifest)."""

    kind: Literal["evidence_shown"] = "evidence_shown"
    by: int
    item: str
    page: int
    pages: int


class EvidenceEnded(_Event):
    """BY stopped the showing of ITEM (or a new one replaced it)."""

    kind: Literal["evidence_ended"] = "evidence_ended"
    by: int
    item: str


class ScreenShareStarted(_Event):
    """BY shares their screen (or a window) as an extra video track (audited; in the recording's manifest)."""

    kind: Literal["screen_share_started"] = "screen_share_started"
    by: int


class ScreenShareEnded(_Event):
    """The screen share of PARTICIPANT_ID ended: stopped by BY (the sharer or a moderator), or by leaving (BY None)."""

    kind: Literal["screen_share_ended"] = "screen_share_ended"
    participant_id: int
    by: int | None = None


class RoomShowAllowed(_Event):
    """A moderator let the room show evidence, or took it back."""

    kind: Literal["room_show_allowed"] = "room_show_allowed"
    by: int
    allowed: bool


class AgendaChanged(_Event):
    """A moderator moved the hearing to STEP (written to the hearing's agenda with its recording offset)."""

    kind: Literal["agenda_changed"] = "agenda_changed"
    by: int
    step: AgendaStepName


class FloorChanged(_Event):
    """A moderator gave the floor to PARTICIPANT_ID, or took it back (None)."""

    kind: Literal["floor_changed"] = "floor_changed"
    by: int
    participant_id: int | None


class DeliberationChanged(_Event):
    """The chair started or ended the private deliberation; HELD: who waits in the lobby meanwhile."""

    kind: Literal["deliberation_changed"] = "deliberation_changed"
    by: int
    active: bool
    held: list[int] = []


Event = Annotated[
    (
        SessionStateChanged
        | ParticipantJoined
        | ParticipantAdmitted
        | ParticipantDenied
        | ParticipantLeft
        | ParticipantDisconnected
        | MediaStateChanged
        | EvidenceShown
        | EvidenceEnded
        | ScreenShareStarted
        | ScreenShareEnded
        | RoomShowAllowed
        | AgendaChanged
        | FloorChanged
        | DeliberationChanged
    ),
    Field(discriminator="kind"),
]


class MediaSignal(NamedTuple):
    """An offer, answer or candidate from an admitted participant, for the media hub."""

    participant_id: int
    message: Offer | Answer | Candidate


class Transition(NamedTuple):
    """The room after a step, what to send, what to audit, what to hand to the media hub."""

    room: Room
    sends: tuple[Send, ...] = ()
    events: tuple[Event, ...] = ()
    media: tuple[MediaSignal, ...] = ()
    changed: bool = False
