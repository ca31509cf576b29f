"""The reception record (接谈记录) taken during a call, its entries and the signatures given at the kiosk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vreception.db import Base, UTCDateTime, utcnow


class ReceptionRecord(Base):
    """The record of one session: written during the call, frozen at the first signature, issued when complete."""

    __tablename__ = "reception_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="RESTRICT"), unique=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the first signer signs or refuses (or someone confirms): the entries never change afterwards.
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leader_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leader_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    recorder_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorder_confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))

    entries: Mapped[list[RecordEntry]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordEntry.id", lazy="selectin")
    signatures: Mapped[list[RecordSignature]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordSignature.id", lazy="selectin")
    confirmations: Mapped[list[RecordConfirmation]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordConfirmation.id", lazy="selectin")


class RecordEntry(Base):
    """One time-stamped entry of the record, with its offset into the session's recording when one ran."""

    __tablename__ = "record_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("reception_records.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offset_s: Mapped[float | None] = mapped_column(Float)
    recording_id: Mapped[int | None] = mapped_column(ForeignKey("recordings.id", ondelete="RESTRICT"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    text: Mapped[str] = mapped_column(Text)

    record: Mapped[ReceptionRecord] = relationship(back_populates="entries")


class RecordSignature(Base):
    """A signer's signature (a PNG with its SHA-256) or refusal to sign (拒签) with the reason."""

    __tablename__ = "record_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("reception_records.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    png: Mapped[bytes | None] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of the PNG
    sha256: Mapped[str | None] = mapped_column(String(64))
    taken_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))  # the kiosk account

    record: Mapped[ReceptionRecord] = relationship(back_populates="signatures")

    __table_args__ = (UniqueConstraint("record_id", "participant_id"),)


class RecordConfirmation(Base):
    """A hearing record confirmed (or refused, with the reason) by a staff member with their account, in one role."""

    __tablename__ = "record_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("reception_records.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(32))  # chair, recorder, hearing_member, handler
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")

    record: Mapped[ReceptionRecord] = relationship(back_populates="confirmations")

    __table_args__ = (UniqueConstraint("record_id", "person_id", "role"),)
