"""The SMS outbox: one row per message to a petitioner's phone, and the numbers that asked for no SMS."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from vreception.db import Base, UTCDateTime, utcnow


class SmsState(str, enum.Enum):
    queued = "queued"  # waiting for its next attempt (or for a gateway to be configured)
    sending = "sending"  # handed to the gateway; no answer recorded yet
    sent = "sent"  # the gateway accepted it and gave its id
    delivered = "delivered"  # the gateway reported delivery to the handset
    failed = "failed"  # refused for good, or out of attempts
    cancelled = "cancelled"  # never sent: opted out, invalid number, or withdrawn


FINAL_STATES = (SmsState.sent, SmsState.delivered, SmsState.failed, SmsState.cancelled)
QUEUED_SQL = "state = 'queued'"


class SmsMessage(Base):
    """A text message to a petitioner: the phone encrypted, the text as shown (secrets masked) and as sent."""

    __tablename__ = "sms_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="RESTRICT"))
    petitioner_id: Mapped[int | None] = mapped_column(ForeignKey("petitioners.id", ondelete="RESTRICT"))
    phone_cipher: Mapped[str] = mapped_column(String(200))
    phone_tail: Mapped[str] = mapped_column(String(4))
    template: Mapped[str] = mapped_column(String(40))
    # What the matter page shows: a query code or a one-time code in it is masked.
    text: Mapped[str] = mapped_column(Text)
    # What goes to the phone, encrypted; emptied once the message is final, so a secret in it does not outlive it.
    text_cipher: Mapped[str] = mapped_column(Text, default="")
    parts: Mapped[int] = mapped_column(Integer)
    state: Mapped[SmsState] = mapped_column(Enum(SmsState, native_enum=False, length=16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    gateway: Mapped[str] = mapped_column(String(16), default="")
    # The SMSC's message id of each part, comma-joined (an SMPP id is up to 65 characters).
    gateway_id: Mapped[str] = mapped_column(String(1000), default="")
    # The parts' ids the SMSC reported delivered so far, comma-joined: delivered once every part is here.
    delivered_parts: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The sender reads only queued rows by due time: years of sent ones must not be walked.
    __table_args__ = (
        Index("ix_sms_messages_due", "next_attempt_at", postgresql_where=sql_text(QUEUED_SQL),
              sqlite_where=sql_text(QUEUED_SQL)),
    )


class SmsOptOut(Base):
    """A phone number that asked not to receive SMS, found by its keyed hash; the number is kept encrypted only so
    that a key rotation can re-hash it."""

    __tablename__ = "sms_opt_outs"

    phone_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone_cipher: Mapped[str] = mapped_column(String(200))
    phone_tail: Mapped[str] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
