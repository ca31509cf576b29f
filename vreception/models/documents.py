"""Generated notices (告知书, 意见书, 接谈记录): numbered, dated, hashed, served."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from vreception.db import Base, UTCDateTime, utcnow


class Document(Base):
    """A notice issued on a matter; its HTML is stored once with its SHA-256 and never changed."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    html: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    served_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    # The body that issued it: the handling body, or the 复查 / 复核 body for their opinions.
    issuer_node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    # Service (送达): how it was served (direct / mail / electronic) and the proof of service (送达回证), if any.
    served_method: Mapped[str | None] = mapped_column(String(16))
    proof_source: Mapped[str | None] = mapped_column(String(24))  # scan / terminal_signature
    proof_type: Mapped[str | None] = mapped_column(String(40))
    proof_sha256: Mapped[str | None] = mapped_column(String(64))
    proof: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
