"""Requests from the petitioner online (网上信访): SMS verification codes, and the requests a coordinator answers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vreception.db import Base, UTCDateTime, utcnow


class OnlineCode(Base):
    """A 6-digit code sent by SMS, kept only as a keyed hash, bound to what it is for (a matter or a phone)."""

    __tablename__ = "online_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The SHA-256 of the random challenge the form carries back (the challenge itself is never stored).
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # review | reception | intake
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"))
    phone_hash: Mapped[str] = mapped_column(String(64))
    phone_tail: Mapped[str] = mapped_column(String(4))
    code_hash: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OnlineKind(str, enum.Enum):
    reception = "reception"  # 网上预约: a video reception asked for a matter
    intake = "intake"  # 网上信访: a new petition, a draft registration


class OnlineState(str, enum.Enum):
    waiting = "waiting"  # in the coordinators' queue
    approved = "approved"  # reception: the office books it; intake: registered as a matter
    refused = "refused"  # answered no, with a reason sent by SMS


class OnlineRequest(Base):
    """A petitioner's request that waits in the queue of the coordinators over NODE."""

    __tablename__ = "online_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OnlineKind] = mapped_column(Enum(OnlineKind, native_enum=False, length=16))
    state: Mapped[OnlineState] = mapped_column(Enum(OnlineState, native_enum=False, length=16))
    # The queue it waits in: the matter's handling body, or the county the petitioner chose; its path for subtrees.
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    node_path: Mapped[str] = mapped_column(String(255))
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # 网上预约: preferred days (ISO dates, comma-separated), the room near the petitioner, a note.
    preferred_days: Mapped[str] = mapped_column(String(40), default="")
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"))
    note: Mapped[str] = mapped_column(Text, default="")
    # 网上信访: who petitions (ID number and phone encrypted), where they live, what about, what they ask.
    name: Mapped[str] = mapped_column(String(100), default="")
    id_cipher: Mapped[str] = mapped_column(String(200), default="")
    id_tail: Mapped[str] = mapped_column(String(4), default="")
    phone_cipher: Mapped[str] = mapped_column(String(200), default="")
    phone_tail: Mapped[str] = mapped_column(String(4), default="")
    address_node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    about: Mapped[str] = mapped_column(Text, default="")
    demands: Mapped[str] = mapped_column(Text, default="")
    # The attached files as JSON: [{sha256, filename, content_type, bytes, pages}] (stored under the data dir).
    files: Mapped[str] = mapped_column(Text, default="[]")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text, default="")

    # The queue: waiting requests of a subtree, oldest first.
    __table_args__ = (Index("ix_online_requests_queue", "state", "node_path", "received_at",
                            postgresql_ops={"node_path": "text_pattern_ops"}),)
