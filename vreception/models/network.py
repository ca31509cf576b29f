"""The video network's live state: each room's last heartbeat and last device self-test (one row per room)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from vreception.db import Base, UTCDateTime


class RoomStatus(Base):
    """A room's kiosk as last heard from: written over in place (an UPSERT per heartbeat), never a history."""

    __tablename__ = "room_status"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    client: Mapped[str] = mapped_column(String(200), default="")  # the kiosk browser's user agent, cut short
    self_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    self_test_ok: Mapped[bool | None] = mapped_column(Boolean)
    # The checks that failed, comma-separated ("camera,network"); empty when all passed.
    self_test_failed: Mapped[str] = mapped_column(String(100), default="")
    self_test_detail: Mapped[str] = mapped_column(String(500), default="")
