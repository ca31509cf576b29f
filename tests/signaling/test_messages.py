"""Parsing and dumping signaling messages, and the error code each bad input produces."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from signaling import rooms
from signaling.errors import ERROR_CODES, ProtocolError
from signaling.messages import (
    CLIENT_TYPES,
    MAX_MESSAGE_BYTES,
    SERVER_TYPES,
    Admit,
    Admitted,
    Agenda,
    AllowShow,
    Answer,
    Bye,
    Candidate,
    Deliberation,
    Deny,
    End,
    Error,
    Floor,
    GiveFloor,
    Join,
    Leave,
    Lobby,
    LobbyView,
    MediaFlags,
    MediaState,
    Mute,
    Offer,
    ParticipantView,
    Ping,
    Pong,
    Screen,
    ScreenView,
    SessionInfo,
    Show,
    ShowEnd,
    ShowingView,
    State,
    TakeFloor,
    Welcome,
    dump,
    error_message,
    parse_client_message,
    parse_server_message,
)
from signaling.ratelimit import TokenBucket

SDP = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" + "a=x\r\n" * 1500  # ~10 KiB
SESSION = SessionInfo(id=42, state="live")

CLIENT_EXAMPLES = [
    Join(),
    Join(media=MediaFlags(audio=True, video=False)),
    Offer(sdp=SDP),
    Answer(sdp=SDP),
    Candidate(candidate="candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host", sdp_mid="0", sdp_mline_index=0),
    Candidate(candidate=""),
    Admit(participant_id=7),
    Deny(participant_id=7),
    Deny(participant_id=7, refuse=True, reason="不在本次接访范围"),
    Leave(),
    End(),
    MediaState(audio=False, video=True),
    Mute(participant_id=7),
    Show(item="doc:12", page=2, pages=3),
    Show(item="upload:4:" + "ab" * 32),
    ShowEnd(),
    AllowShow(allowed=True),
    Agenda(step="petitioner_states"),
    GiveFloor(participant_id=7),
    TakeFloor(),
    Deliberation(active=True),
    Screen(active=True),
    Screen(active=False),
    Ping(),
    Pong(),
]
SERVER_EXAMPLES = [
    Welcome(participant_id=3, role="petitioner", session=SESSION),
    Lobby(),
    Lobby(reason="请稍候"),
    Admitted(),
    State(
        session=SESSION,
        participants=[ParticipantView(id=3, role="room", name="城关镇接访室", status="lobby", connected=True, audio=True, video=False)],
        lobby=[LobbyView(participant_id=3, since=datetime(2025, 3, 3, 1, 2, 3, tzinfo=UTC))],
    ),
    State(session=SESSION, participants=[], showing=ShowingView(participant_id=1, item="att:5", page=1, pages=1),
          room_may_show=True),
    Offer(sdp=SDP),
    Answer(sdp=SDP),
    Candidate(candidate="candidate:1 1 UDP 1 127.0.0.1 5 typ host", sdp_mid="1", sdp_mline_index=1),
    Error(code="forbidden", detail="only a leader or coordinator may admit"),
    Bye(reason="ended"),
    Mute(participant_id=3),
    Floor(participant_id=3),
    State(session=SESSION, participants=[], agenda_step="cross_examination", floor=3, deliberating=False),
    State(session=SESSION, participants=[], screen=ScreenView(participant_id=1)),
    Ping(),
    Pong(),
]


@pytest.mark.parametrize("message", CLIENT_EXAMPLES, ids=lambda m: m.type)
def test_client_messages_round_trip(message):
    text = dump(message)
    assert json.loads(text)["type"] == message.type
    assert parse_client_message(text) == message
    assert parse_client_message(text.encode()) == message


@pytest.mark.parametrize("message", SERVER_EXAMPLES, ids=lambda m: m.type)
def test_server_messages_round_trip(message):
    assert parse_server_message(dump(message)) == message


def test_every_message_type_has_a_round_trip_example():
    assert {m.type for m in CLIENT_EXAMPLES} == CLIENT_TYPES
    assert {m.type for m in SERVER_EXAMPLES} == SERVER_TYPES


def test_wire_names_are_those_of_the_api():
    candidate = json.loads(dump(Candidate(candidate="c", sdp_mid="0", sdp_mline_index=2)))
    assert candidate["sdpMid"] == "0" and candidate["sdpMLineIndex"] == 2
    welcome = json.loads(dump(Welcome(participant_id=3, role="leader", session=SessionInfo(id=1, state="open"))))
    assert welcome == {"type": "welcome", "participant_id": 3, "role": "leader", "session": {"id": 1, "state": "open"}}
    assert json.loads(dump(error_message(ProtocolError("invalid", "x")))) == {"type": "error", "code": "invalid", "detail": "x"}


def test_browser_candidate_json_is_accepted():
    # What `JSON.stringify({type: "candidate", ...event.candidate.toJSON()})` sends.
    raw = '{"type":"candidate","candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}'
    message = parse_client_message(raw)
    assert isinstance(message, Candidate) and message.username_fragment == "abcd"


def test_server_only_messages_are_unknown_from_a_client():
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(dump(Welcome(participant_id=1, role="leader", session=SESSION)))
    assert caught.value.code == "unknown_type"


def test_sdp_of_ten_kib_fits_and_the_limit_is_exact():
    assert len(dump(Offer(sdp=SDP))) > 10_000
    prefix = '{"type":"ping","pad":"'
    exact = prefix + "x" * (MAX_MESSAGE_BYTES - len(prefix) - 2) + '"}'
    assert len(exact) == MAX_MESSAGE_BYTES
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(exact)
    assert caught.value.code == "invalid"  # within the size limit: refused for the unknown field only
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(exact[:-2] + 'x"}')
    assert caught.value.code == "too_large"


def test_size_counts_utf8_bytes_not_characters():
    text = '{"type":"ping","p":"' + "访" * (MAX_MESSAGE_BYTES // 3) + '"}'
    assert len(text) < MAX_MESSAGE_BYTES < len(text.encode())
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(text)
    assert caught.value.code == "too_large"


BAD_INPUTS = [
    ("malformed", "not json"),
    ("malformed", b"\xff\xfe not utf-8"),
    ("malformed", '{"type": "ping"'),
    ("malformed", "[1, 2]"),
    ("malformed", '"ping"'),
    ("malformed", "null"),
    ("malformed", '{"type": "media_state", "audio": NaN, "video": true}'),
    ("malformed", "[" * 50_000 + "]" * 10_000),
    ("unknown_type", '{"type": "shout"}'),
    ("unknown_type", '{"type": 5}'),
    ("unknown_type", '{"type": "welcome", "participant_id": 1, "role": "leader", "session": {"id": 1, "state": "open"}}'),
    ("invalid", "{}"),
    ("invalid", '{"sdp": "v=0"}'),
    ("invalid", '{"type": "admit"}'),
    ("invalid", '{"type": "admit", "participant_id": "7"}'),
    ("invalid", '{"type": "admit", "participant_id": 0}'),
    ("invalid", '{"type": "admit", "participant_id": true}'),
    ("invalid", '{"type": "offer"}'),
    ("invalid", '{"type": "offer", "sdp": ""}'),
    ("invalid", '{"type": "offer", "sdp": 12}'),
    ("invalid", '{"type": "media_state", "audio": "false", "video": true}'),
    ("invalid", '{"type": "media_state", "audio": false}'),
    ("invalid", '{"type": "candidate", "candidate": "c", "sdpMLineIndex": -1}'),
    ("invalid", '{"type": "leave", "now": true}'),
    ("invalid", '{"type": "deny", "participant_id": 3, "refuse": "yes"}'),
    ("too_large", "x" * (MAX_MESSAGE_BYTES + 1)),
    ("too_large", b"{" * (MAX_MESSAGE_BYTES + 1)),
]


@pytest.mark.parametrize(("code", "raw"), BAD_INPUTS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BAD_INPUTS)])
def test_bad_input_gives_its_error_code(code, raw):
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(raw)
    assert caught.value.code == code
    assert caught.value.detail


def test_invalid_detail_names_the_field():
    with pytest.raises(ProtocolError) as caught:
        parse_client_message('{"type": "admit", "participant_id": "seven"}')
    assert "participant_id" in caught.value.detail


def _rate_limited():
    bucket = TokenBucket(rate=1, burst=1, clock=lambda: 0.0)
    bucket.take()
    bucket.take()


def _forbidden():
    now = datetime(2025, 3, 3, tzinfo=UTC)
    room = rooms.join(rooms.new_room(1), 5, "room", now=now).room
    rooms.apply(room, 5, End(), now=now)


def _illegal_state():
    now = datetime(2025, 3, 3, tzinfo=UTC)
    rooms.join(rooms.new_room(1, state="ended"), 5, "leader", now=now)


def test_every_error_code_comes_from_a_concrete_cause():
    causes = {
        "malformed": lambda: parse_client_message("{"),
        "unknown_type": lambda: parse_client_message('{"type": "hello"}'),
        "invalid": lambda: parse_client_message('{"type": "admit"}'),
        "too_large": lambda: parse_client_message(" " * (MAX_MESSAGE_BYTES + 1)),
        "rate_limited": _rate_limited,
        "forbidden": _forbidden,
        "illegal_state": _illegal_state,
    }
    assert set(causes) == set(ERROR_CODES)
    for code, cause in causes.items():
        with pytest.raises(ProtocolError) as caught:
            cause()
        assert caught.value.code == code, code


def test_protocol_error_refuses_unknown_codes():
    with pytest.raises(ValueError):
        ProtocolError("oops", "not a stable code")
