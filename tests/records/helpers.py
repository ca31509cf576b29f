"""A reception session that ran and ended, with a petitioner and two representatives in the township room."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from datetime import timedelta

from scheduling import booking
from scheduling.policy import Policy
from scheduling.session_state import change_state
from tests.factories import make_matter
from vreception import audit, clock
from vreception.models.recordings import Recording, RecordingState
from vreception.models.scheduling import ReceptionSession, SessionState

MANIFEST_SHA256 = "5e" * 32


@dataclass
class Call:
    session: int
    matter: int
    signers: dict  # name → participant id
    leader: int  # person ids
    recorder: int
    recording: int | None


def ended_call(db, org, *, recorder: bool = True, recording: bool = True, end: bool = True) -> Call:
    """Book a walk-in with 张三 (petitioner), 李四 and 王五 (representatives), optionally a recorder; run it."""
    matter_id = make_matter(db, origin=org.nodes["township"], handling=org.nodes["county"])
    specs = [booking.ParticipantSpec("petitioner", None, "张三"), booking.ParticipantSpec("representative", None, "李四"),
             booking.ParticipantSpec("representative", None, "王五")]
    if recorder:
        specs.append(booking.ParticipantSpec("recorder", org.people["coord_county"].id, None))
    with db.transaction() as s:
        item = booking.book(db=s, policy=Policy(), kind="reception", leader_id=org.people["leader_county"].id,
                            room_ids=[org.rooms["township"].id], matter_id=matter_id, starts_at=None, ends_at=None,
                            participants=specs, ad_hoc=True, reason="群众现场来访", coordinator=True,
                            actor_id=org.people["coord_county"].id)
        started = clock.now()
        for state in (SessionState.open, SessionState.live):
            change_state(db=s, booking=item, to=state, at=started, policy=Policy())
        # The call's joins, as the call server audits them: the leader, the room (its people sit there), the recorder.
        for seat in item.participants:
            if seat.role in ("leader", "room", "recorder"):
                audit.record(db=s, action="call.participant_joined", entity_type="session", entity_id=item.id,
                             actor_id=seat.person_id, data={"participant_id": seat.id, "role": seat.role,
                                                            "resumed": False})
        recording_id = None
        if recording:
            row = Recording(session_id=item.id, state=RecordingState.recording, storage="local",
                            prefix=f"sessions/{item.id}/", started_at=started - timedelta(seconds=90))
            s.add(row)
            s.flush()
            recording_id = row.id
        signers = {p.name: p.id for p in item.participants if p.role in ("petitioner", "representative")}
        return Call(item.id, matter_id, signers, org.people["leader_county"].id, org.people["coord_county"].id,
                    recording_id)


def end_call(db, call: Call, *, finalise: bool = True) -> None:
    """End the session through the domain and finalise its recording with a manifest hash."""
    with db.transaction() as s:
        item = s.get(ReceptionSession, call.session)
        change_state(db=s, booking=item, to=SessionState.ended, at=clock.now(), policy=Policy())
        if finalise and call.recording:
            row = s.get(Recording, call.recording)
            row.state, row.manifest_sha256, row.ended_at = RecordingState.finalised, MANIFEST_SHA256, clock.now()


def png(width: int = 40, height: int = 20, shade: int = 0) -> bytes:
    """A small real greyscale PNG."""
    raw = b"".join(b"\x00" + bytes([(x * 7 + y * 3 + shade) % 256 for x in range(width)]) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    out = io.BytesIO()
    out.write(b"\x89PNG\r\n\x1a\n")
    out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
    out.write(chunk(b"IDAT", zlib.compress(raw)))
    out.write(chunk(b"IEND", b""))
    return out.getvalue()
