"""The demo history's recordings: a few seconds of real VP8 + Opus per participant of each held session, stored,
hashed and finalised through the recording service as a call would leave them."""

from __future__ import annotations

import fractions
from datetime import datetime, timedelta
from typing import Any

import av
from sqlalchemy import select
from sqlalchemy.orm import Session

from recordings import service
from recordings.segment import SegmentFile
from recordings.storage import Storage, sha256_file
from vreception import clock
from vreception.models.recordings import Recording
from vreception.models.scheduling import Participant, ReceptionSession, SessionState

SECONDS = 2
FPS, AUDIO_FRAMES = 15, 50  # Opus frames of 20 ms
WIDTH, HEIGHT = 160, 120
SEATS = ("leader", "room")
Clip = tuple[list[bytes], list[bytes]]
_clip: Clip | None = None


def clip() -> Clip:
    """VP8 frames of a slowly changing grey picture and Opus frames of a quiet hum, encoded once per process."""
    global _clip
    if _clip is not None:
        return _clip
    video = av.CodecContext.create("libvpx", "w")
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    video.time_base = fractions.Fraction(1, FPS)
    video.options = {"deadline": "realtime", "cpu-used": "8"}
    frames: list[bytes] = []
    for i in range(SECONDS * FPS):
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes([(i * 6) % 200 + 20]) * plane.buffer_size)
        frame.pts = i
        frames += [bytes(p) for p in video.encode(frame)]
    frames += [bytes(p) for p in video.encode(None)]
    audio = av.CodecContext.create("libopus", "w")
    audio.sample_rate, audio.layout, audio.format = 48000, "stereo", "s16"
    sounds: list[bytes] = []
    for i in range(SECONDS * AUDIO_FRAMES):
        sample = av.AudioFrame(format="s16", layout="stereo", samples=960)
        sample.planes[0].update(b"\x00\x08" * 1920)
        sample.pts, sample.sample_rate = i * 960, 48000
        sounds += [bytes(p) for p in audio.encode(sample)]
    _clip = frames, sounds
    return _clip


def _segment(storage: Storage, key: str, started: datetime) -> dict[str, Any]:
    """One participant's segment written as the recorder writes it, stored; add_segment's media fields."""
    video, audio = clip()
    origin = started.timestamp()
    segment = SegmentFile(storage.live_path(key), origin, {"video": "vp8", "audio": "opus"})
    segment.width, segment.height = WIDTH, HEIGHT
    segment.open()
    for i, data in enumerate(video):
        segment.write("video", data, origin + i / FPS, i == 0)
    for i, data in enumerate(audio):
        segment.write("audio", data, origin + i / AUDIO_FRAMES, True)
    segment.close()
    sha256, size = sha256_file(segment.path)
    storage.put(key, segment.path)
    return {"key": key, "container": "webm", "codecs": {"audio": "opus", "video": "vp8"}, "bytes": size,
            "sha256": sha256, "started_at": started, "ended_at": started + timedelta(seconds=segment.duration)}


def record_held(*, db: Session, storage: Storage) -> int:
    """A short finalised recording for every ended session that has none; returns how many were made."""
    recorded = select(Recording.session_id)
    held = db.scalars(select(ReceptionSession).where(ReceptionSession.state == SessionState.ended,
                                                     ReceptionSession.recorded.is_(True),
                                                     ReceptionSession.id.notin_(recorded))
                      .order_by(ReceptionSession.id)).all()
    for booking in held:
        seats = db.scalars(select(Participant).where(Participant.session_id == booking.id,
                                                     Participant.role.in_(SEATS)).order_by(Participant.id)).all()
        started = booking.starts_at + timedelta(minutes=1)  # the history admits the petitioner a minute in
        with clock.running_from(started):
            recording = service.start_recording(db=db, session_id=booking.id, storage=storage)
            for index, seat in enumerate(seats):
                fields = _segment(storage, f"{recording.prefix}/p{seat.id}/seg-{index:05d}.webm", started)
                service.add_segment(db=db, recording=recording, index=index, participant_id=seat.id, **fields)
        with clock.running_from(started + timedelta(seconds=SECONDS + 1)):
            service.finalise(db=db, recording=recording, storage=storage)
    return len(held)
