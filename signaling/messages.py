"""Typed JSON signaling messages (a `type` field discriminates) and their parsing."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from signaling.errors import ProtocolError
from signaling.roles import Role

# SDP of a two-track offer is ~5-10 KiB; leave room for many tracks, refuse anything larger.
MAX_MESSAGE_BYTES = 64 * 1024
MAX_SDP_CHARS = 60_000

SessionState = Literal["booked", "open", "live", "ended", "no_show", "cancelled"]
ParticipantStatus = Literal["lobby", "admitted", "away", "refused"]

ParticipantId = Annotated[int, Field(ge=1)]
Sdp = Annotated[str, Field(min_length=1, max_length=MAX_SDP_CHARS)]
Text = Annotated[str, Field(max_length=500)]
# What is shown (证据展示): a notice of the matter (doc:ID), a task attachment (att:ID), or a file uploaded into the
# matter during the call (upload:MATTER_ID:SHA256). The server's page route checks that it belongs to the matter.
EvidenceItem = Annotated[str, Field(pattern=r"^((doc|att):[0-9]{1,12}|upload:[0-9]{1,12}:[0-9a-f]{64})$")]
PageNumber = Annotated[int, Field(ge=1, le=10_000)]
# The order of proceedings of a hearing (vreception.models.hearings.AgendaStep; a test keeps them equal).
AgendaStepName = Literal["opening", "petitioner_states", "handler_answers", "cross_examination", "final_statements",
                         "deliberation", "conclusion"]


class _Message(BaseModel):
    # strict: `"true"` is not a bool and `"5"` is not an id; unknown fields are typos, say so.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)


# -- payload parts -------------------------------------------------------------------------


class SessionInfo(_Message):
    """The session as participants see it."""

    id: int
    state: SessionState


class MediaFlags(_Message):
    """Whether a participant sends audio and video (mute, camera off, audio-only)."""

    audio: bool = True
    video: bool = True


class ParticipantView(_Message):
    """One participant in a `state` message."""

    id: int
    role: Role
    name: str = ""
    status: ParticipantStatus
    connected: bool
    audio: bool = True
    video: bool = True


class ShowingView(_Message):
    """What is being shown to everyone: by whom, which item, which page of how many."""

    participant_id: int
    item: str
    page: int
    pages: int


class ScreenView(_Message):
    """Whose screen (or window) is shared with everyone now, as an extra video track."""

    participant_id: int


class LobbyView(_Message):
    """One waiting participant, in order of arrival."""

    participant_id: int
    since: Annotated[datetime, Field(strict=False)]  # ISO text on the wire


# -- both directions -------------------------------------------------------------------------


class Offer(_Message):
    """An SDP offer (the server re-offers when tracks are added or removed)."""

    type: Literal["offer"] = "offer"
    sdp: Sdp


class Answer(_Message):
    """An SDP answer."""

    type: Literal["answer"] = "answer"
    sdp: Sdp


class Candidate(_Message):
    """A trickled ICE candidate (the empty candidate ends gathering)."""

    type: Literal["candidate"] = "candidate"
    candidate: Annotated[str, Field(max_length=2000)]
    sdp_mid: Annotated[str | None, Field(alias="sdpMid", max_length=64)] = None
    sdp_mline_index: Annotated[int | None, Field(alias="sdpMLineIndex", ge=0, le=1024)] = None
    # Browsers' RTCIceCandidate.toJSON() includes it; accept it so clients can spread that object.
    username_fragment: Annotated[str | None, Field(alias="usernameFragment", max_length=256)] = None


class Ping(_Message):
    """Keep-alive probe; the other side answers `pong`."""

    type: Literal["ping"] = "ping"


class Pong(_Message):
    """Answer to `ping`."""

    type: Literal["pong"] = "pong"


# -- server to client ------------------------------------------------------------------------


class Welcome(_Message):
    """First message on connect: who you are and the session's state."""

    type: Literal["welcome"] = "welcome"
    participant_id: int
    role: Role
    session: SessionInfo


class Lobby(_Message):
    """You wait in the lobby until a moderator (leader, chair, coordinator) admits you."""

    type: Literal["lobby"] = "lobby"
    reason: Text | None = None


class Admitted(_Message):
    """You are admitted: media will be offered."""

    type: Literal["admitted"] = "admitted"


class State(_Message):
    """The session and every participant, after each change."""

    type: Literal["state"] = "state"
    session: SessionInfo
    participants: list[ParticipantView]
    lobby: list[LobbyView] = []
    showing: ShowingView | None = None
    room_may_show: bool = False
    # Whose screen is shared (its video track is forwarded with the stream id "<participant id>-screen").
    screen: ScreenView | None = None
    # A hearing's order of proceedings: the current step, who holds the floor, whether the panel deliberates.
    agenda_step: AgendaStepName | None = None
    floor: int | None = None
    deliberating: bool = False


class Error(_Message):
    """A message or action was refused."""

    type: Literal["error"] = "error"
    code: str
    detail: str


class Bye(_Message):
    """The server is closing your connection (left, ended, refused, replaced, cancelled, no_show)."""

    type: Literal["bye"] = "bye"
    reason: str


class Floor(_Message):
    """The chair gave you the floor: turn the microphone on."""

    type: Literal["floor"] = "floor"
    participant_id: int


# -- client to server ------------------------------------------------------------------------


class Join(_Message):
    """Optional after connect: announce media flags; the server re-sends welcome and lobby/admitted."""

    type: Literal["join"] = "join"
    media: MediaFlags | None = None


class Admit(_Message):
    """A moderator lets a waiting participant in."""

    type: Literal["admit"] = "admit"
    participant_id: ParticipantId


class Deny(_Message):
    """A moderator keeps a participant waiting (default) or refuses them (`refuse`)."""

    type: Literal["deny"] = "deny"
    participant_id: ParticipantId
    refuse: bool = False
    reason: Text | None = None


class Leave(_Message):
    """The sender leaves the session."""

    type: Literal["leave"] = "leave"


class End(_Message):
    """A moderator ends the session for everyone."""

    type: Literal["end"] = "end"


class Mute(_Message):
    """A moderator mutes another participant's microphone; the server passes it on to them (only they unmute)."""

    type: Literal["mute"] = "mute"
    participant_id: ParticipantId


class MediaState(_Message):
    """The sender muted, turned the camera off, or went audio-only."""

    type: Literal["media_state"] = "media_state"
    audio: bool
    video: bool


class Show(_Message):
    """Show ITEM to everyone at PAGE (of PAGES), or turn the page of what is shown."""

    type: Literal["show"] = "show"
    item: EvidenceItem
    page: PageNumber = 1
    pages: PageNumber = 1


class ShowEnd(_Message):
    """Stop showing (the one showing, or a moderator)."""

    type: Literal["show_end"] = "show_end"


class Screen(_Message):
    """Share the sender's screen or a window as an extra video track (ACTIVE), or stop the share (the sharer, or a
    moderator stopping anyone's)."""

    type: Literal["screen"] = "screen"
    active: bool


class AllowShow(_Message):
    """A moderator lets the room show evidence (or takes it back)."""

    type: Literal["allow_show"] = "allow_show"
    allowed: bool


class Agenda(_Message):
    """A moderator of a hearing moves it to STEP of the order of proceedings."""

    type: Literal["agenda"] = "agenda"
    step: AgendaStepName


class GiveFloor(_Message):
    """A moderator gives the floor to a participant (their page unmutes; whoever held it is muted)."""

    type: Literal["give_floor"] = "give_floor"
    participant_id: ParticipantId


class TakeFloor(_Message):
    """A moderator takes the floor back: its holder is muted."""

    type: Literal["take_floor"] = "take_floor"


class Deliberation(_Message):
    """The chair starts (ACTIVE) or ends the panel's private deliberation (合议)."""

    type: Literal["deliberation"] = "deliberation"
    active: bool


ClientMessage = Annotated[
    Join | Offer | Answer | Candidate | Admit | Deny | Leave | End | MediaState | Mute | Show | ShowEnd | AllowShow | Ping
    | Pong | Agenda | GiveFloor | TakeFloor | Deliberation | Screen,
    Field(discriminator="type"),
]
ServerMessage = Annotated[
    Welcome | Lobby | Admitted | State | Offer | Answer | Candidate | Error | Bye | Mute | Floor | Ping | Pong,
    Field(discriminator="type"),
]
Message = (Welcome | Lobby | Admitted | State | Error | Bye | Join | Admit | Deny | Leave | End | MediaState | Mute | Offer
           | Answer | Candidate | Show | ShowEnd | AllowShow | Ping | Pong | Agenda | GiveFloor | TakeFloor | Deliberation
           | Floor | Screen)

_client: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_server: TypeAdapter[ServerMessage] = TypeAdapter(ServerMessage)


def _types(union: Any) -> frozenset[str]:
    members = get_args(get_args(union)[0])
    return frozenset(m.model_fields["type"].default for m in members)


CLIENT_TYPES = _types(ClientMessage)
SERVER_TYPES = _types(ServerMessage)


_T = TypeVar("_T")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _load(raw: str | bytes) -> dict[str, Any]:
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", f"message of {size} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError("malformed", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed", "a message must be a JSON object")
    return data


def _validate(adapter: TypeAdapter[_T], known: frozenset[str], data: dict[str, Any]) -> _T:
    kind = data.get("type")
    if kind is None:
        raise ProtocolError("invalid", "type: field required")
    if not isinstance(kind, str) or kind not in known:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}")
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'message'}: {e['msg']}" for e in exc.errors())
        raise ProtocolError("invalid", problems) from None


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """The typed message a client sent; ProtocolError (malformed, too_large, unknown_type, invalid) otherwise."""
    return _validate(_client, CLIENT_TYPES, _load(raw))


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """The typed message a server sent (for clients, the media side and tests)."""
    return _validate(_server, SERVER_TYPES, _load(raw))


def dump(message: Message) -> str:
    """The JSON text of MESSAGE, as sent on the wire."""
    return message.model_dump_json(by_alias=True)


def to_dict(message: Message) -> dict[str, Any]:
    """MESSAGE as a JSON-ready dict (for the bus)."""
    return message.model_dump(mode="json", by_alias=True)


def error_message(error: ProtocolError) -> Error:
    """The `error` message telling a client why it was refused."""
    return Error(code=error.code, detail=error.detail)
