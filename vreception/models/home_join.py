"""Home links (手机视频接访): a one-time SMS link that lets a petitioner-side participant join from their own phone."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vreception.db import Base, UTCDateTime, utcnow


class HomeLinkState(str, enum.Enum):
    issued = "issued"  # sent by SMS; nobody has passed the SMS code yet
    verified = "verified"  # the code was passed: the link now belongs to that one browser
    locked = "locked"  # too many wrong codes: refused for good (a coordinator issues a new link)
    revoked = "revoked"  # replaced by a newer link for the same seat


# A link that still lets somebody in (a newer link for the same seat revokes these).
ACTIVE_STATES = (HomeLinkState.issued, HomeLinkState.verified)


class HomeLink(Base):
    """One link for one seat of one session; only hashes of the link token, the SMS code and the browser's key."""

    __tablename__ = "home_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    petitioner_id: Mapped[int | None] = mapped_column(ForeignKey("petitioners.id", ondelete="RESTRICT"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The registered number the codes go to, as the petitioner record keeps it (encrypted).
    phone_cipher: Mapped[str] = mapped_column(String(200))
    phone_tail: Mapped[str] = mapped_column(String(4))
    state: Mapped[HomeLinkState] = mapped_column(Enum(HomeLinkState, native_enum=False, length=16))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    # Wrong codes over the link's whole life (a fresh code does not give fresh tries).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    browser_hash: Mapped[str] = mapped_column(String(64), default="")
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
