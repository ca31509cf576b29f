"""Recordings of sessions (录音录像) and their hashed segments: the evidence of every call."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vreception.db import Base, UTCDateTime, utcnow


class RecordingState(str, enum.Enum):
    """Where a recording is in its life."""

    recording = "recording"  # segments are being written
    finalised = "finalised"  # manifest and combined file made, hashes chained into the audit log
    failed = "failed"  # nothing playable could be made
    purged = "purged"  # media deleted under the retention rules; the row and its hashes stay


class Recording(Base):
    """The recording of one session: its combined file, manifest and their hashes."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="RESTRICT"), index=True)
    state: Mapped[RecordingState] = mapped_column(Enum(RecordingState, native_enum=False, length=16), index=True)
    storage: Mapped[str] = mapped_column(String(16))  # backend name: local, s3
    prefix: Mapped[str] = mapped_column(String(255))  # storage key prefix of every file
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    bytes: Mapped[int | None] = mapped_column(BigInteger)  # of the combined file
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the combined file
    container: Mapped[str | None] = mapped_column(String(16))  # webm | matroska
    media_key: Mapped[str | None] = mapped_column(String(255))
    manifest_key: Mapped[str | None] = mapped_column(String(255))
    manifest: Mapped[str | None] = mapped_column(Text)  # canonical JSON, hashed as is
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str] = mapped_column(Text, default="")

    segments: Mapped[list[RecordingSegment]] = relationship(
        back_populates="recording", cascade="all, delete-orphan", order_by="RecordingSegment.index", lazy="selectin")


class RecordingSegment(Base):
    """One segment file of one participant, hashed when it closed."""

    __tablename__ = "recording_segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="RESTRICT"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    container: Mapped[str] = mapped_column(String(16))
    codecs: Mapped[str] = mapped_column(String(64), default="")  # e.g. "audio=opus,video=vp8"
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the gap before this segment (rejoin, recorder error): seconds and why; gaps inside it as JSON
    gap_before_s: Mapped[float | None] = mapped_column(Float)
    gap_reason: Mapped[str | None] = mapped_column(String(32))
    gaps: Mapped[str] = mapped_column(Text, default="[]")
    # True when the file was closed properly; False when recovered after the recorder died
    finalised: Mapped[bool] = mapped_column(Boolean, default=True)

    recording: Mapped[Recording] = relationship(back_populates="segments")

    __table_args__ = (UniqueConstraint("recording_id", "index"),)
