"""The integration feed for the provincial 信访信息系统: one row per disclosed change, in commit order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from vreception.db import Base, UTCDateTime, utcnow


class IntegrationChange(Base):
    """A state change, a document issued or a service (送达) of a matter, with only the fields 网上办理 discloses.

    The id is the feed's cursor: taken from IntegrationHead under its row lock, so ids become visible in commit
    order and a reader that sees id N has seen every id below it."""

    __tablename__ = "integration_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    matter_number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The handling body's path when the change was recorded: the feed's subtree filter, stable for a cursor.
    node_path: Mapped[str] = mapped_column(String(255))
    # Rebuilt from the history by `vreception integration backfill`, not written when it happened.
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[str] = mapped_column(Text)


class IntegrationHead(Base):
    """The last id handed out (one row): bumping it locks the row until commit, which orders the ids."""

    __tablename__ = "integration_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)
