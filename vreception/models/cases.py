"""The case record (信访事项): petitioners, demands, deadlines, the timeline, numbering."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vreception.db import Base, UTCDateTime, utcnow


class MatterState(str, enum.Enum):
    """Where a matter is in its life (DOMAIN.md "Life of a matter")."""

    registered = "registered"  # 登记
    assigned = "assigned"  # 交办, waiting for the completion report (办结报告)
    completion_reported = "completion_reported"  # 办结报告 in, the assigning office verifies or sends it back
    accepted = "accepted"  # 受理, being handled (办理)
    replied = "replied"  # 处理意见书 issued, not yet served
    served = "served"  # 送达: rating and review windows run
    review_requested = "review_requested"  # 复查 asked
    review_replied = "review_replied"  # 复查意见书 issued
    review_served = "review_served"  # served: second-review window runs
    recheck_requested = "recheck_requested"  # 复核 asked
    hearing = "hearing"  # 听证 under way (its days do not count)
    recheck_replied = "recheck_replied"  # 复核意见书 issued
    final = "final"  # 终结: 不再受理 on the same facts
    closed = "closed"  # ended another way (not accepted, transferred, legal channel, settled, done)


class Channel(str, enum.Enum):
    """How the petition came in."""

    video = "video"
    visit = "visit"
    letter = "letter"
    online = "online"
    phone = "phone"


class Petitioner(Base):
    """A person who petitions; the ID number is kept encrypted, with a keyed hash to find them again."""

    __tablename__ = "petitioners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The keyed hash of the ID number, or of the credit code of an organisation; none for a letter without one.
    id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_cipher: Mapped[str] = mapped_column(String(200), default="")
    id_tail: Mapped[str] = mapped_column(String(4), default="")
    phone_cipher: Mapped[str] = mapped_column(String(200), default="")
    phone_tail: Mapped[str] = mapped_column(String(4), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who petitions (Art. 2): a citizen, a legal person or another organisation; the address is encrypted.
    kind: Mapped[str] = mapped_column(String(16), default="citizen")
    address_cipher: Mapped[str] = mapped_column(Text, default="")


class Matter(Base):
    """A petition matter (信访事项) registered at a handling office."""

    __tablename__ = "matters"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    query_code_hash: Mapped[str] = mapped_column(String(64))
    origin_node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    handling_node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"), index=True)
    # The handling node's materialized path, copied so subtree filters need no join.
    handling_path: Mapped[str] = mapped_column(String(255))
    # The body holding the matter now when it is not the handling body: the 复查 or 复核 body (Arts. 35, 36).
    holding_node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    # The office that transferred (转送) or assigned (交办) the matter here, and when: the objection goes back to it.
    transferred_from_node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=16))
    state: Mapped[MatterState] = mapped_column(Enum(MatterState, native_enum=False, length=24), index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    possible_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_leader_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    hearing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hearing_days: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[str | None] = mapped_column(String(24))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # accepted / refused / transferred / assigned
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    served_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Registration as the law sees it: 事实和理由, 反映对象 (text and/or node), how many came, 检举控告.
    facts: Mapped[str] = mapped_column(Text, default="")
    accused_text: Mapped[str] = mapped_column(String(200), default="")
    accused_node_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    people_count: Mapped[int] = mapped_column(Integer, default=1)
    accusation: Mapped[bool] = mapped_column(Boolean, default=False)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    # An accusation's accused unit (its path, copied): nobody inside it reads the matter (cases/confidential.py).
    hidden_from_path: Mapped[str | None] = mapped_column(String(255))

    petitioner_links: Mapped[list[MatterPetitioner]] = relationship(
        back_populates="matter", cascade="all, delete-orphan", order_by="MatterPetitioner.position", lazy="selectin")
    demands: Mapped[list[Demand]] = relationship(
        back_populates="matter", cascade="all, delete-orphan", order_by="Demand.position", lazy="selectin")
    deadlines: Mapped[list[Deadline]] = relationship(
        back_populates="matter", cascade="all, delete-orphan", order_by="Deadline.id", lazy="selectin")

    # Subtree filters are `handling_path LIKE 'prefix%'`: a pattern index serves them under any collation. The monthly
    # figures are bounded by these instants; the office's "came from us" arm reads transferred_from_node_id.
    __table_args__ = (
        # Carrying what a subtree's reads ask of each matter (0025): a county's are found from the index alone.
        Index("ix_matters_handling_path", "handling_path", postgresql_ops={"handling_path": "text_pattern_ops"},
              postgresql_include=["id", "handling_node_id", "state", "outcome"]),
        # The open matters by state, with what a reader's filter asks (0025): the dashboard's capped state counts.
        Index("ix_matters_open_state", "state",
              postgresql_include=["id", "handling_path", "hidden_from_path", "owner_leader_id",
                                  "transferred_from_node_id"],
              postgresql_where=text("state NOT IN ('closed', 'final')"),
              sqlite_where=text("state NOT IN ('closed', 'final')")),
        Index("ix_matters_number_pattern", "number", postgresql_ops={"number": "text_pattern_ops"}),
        Index("ix_matters_registered_at", "registered_at"),
        Index("ix_matters_received_at_id", "received_at", "id"),  # the default list: newest first, keyset
        Index("ix_matters_rated_at", "rated_at"),
        Index("ix_matters_served_at", "served_at"),
        Index("ix_matters_transferred_from_node_id", "transferred_from_node_id"),
    )


class MatterPetitioner(Base):
    """A petitioner of a matter; in a group, up to five are representatives (代表)."""

    __tablename__ = "matter_petitioners"

    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), primary_key=True)
    petitioner_id: Mapped[int] = mapped_column(ForeignKey("petitioners.id", ondelete="RESTRICT"), primary_key=True,
                                               index=True)
    position: Mapped[int] = mapped_column(Integer)
    representative: Mapped[bool] = mapped_column(Boolean, default=False)

    matter: Mapped[Matter] = relationship(back_populates="petitioner_links")
    petitioner: Mapped[Petitioner] = relationship(lazy="joined")


class Demand(Base):
    """One demand (诉求), registered separately (分诉求登记) under the matter."""

    __tablename__ = "demands"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    # The legal channel (诉讼, 仲裁, 行政复议 …) the category belongs to, if any (诉访分离).
    legal_channel: Mapped[str | None] = mapped_column(String(32))
    # The reply's outcome for this demand (support / explain / not_support), set by the latest opinion.
    outcome: Mapped[str | None] = mapped_column(String(16))

    matter: Mapped[Matter] = relationship(back_populates="demands")


class RepeatLink(Base):
    """A possible repeat petition (重复访): an earlier matter of the same person with similar demands."""

    __tablename__ = "repeat_links"

    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), primary_key=True)
    earlier_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    similarity: Mapped[int] = mapped_column(Integer)  # percent
    reason: Mapped[str] = mapped_column(String(24), default="similar_demands")  # or same_person


class DeadlineState(str, enum.Enum):
    open = "open"
    met = "met"
    missed = "missed"  # done, but late
    cancelled = "cancelled"


class Deadline(Base):
    """A statutory deadline of a matter: its kind, start, due day (Asia/Shanghai) and outcome."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    start_day: Mapped[date] = mapped_column(Date)
    due_day: Mapped[date] = mapped_column(Date, index=True)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    extra_days: Mapped[int] = mapped_column(Integer, default=0)  # extension and hearing days
    state: Mapped[DeadlineState] = mapped_column(Enum(DeadlineState, native_enum=False, length=16),
                                                 default=DeadlineState.open)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    matter: Mapped[Matter] = relationship(back_populates="deadlines")

    # Overdue lists read only open deadlines: a partial index keeps them small however many have ended.
    __table_args__ = (Index("ix_deadlines_kind_due", "kind", "due_day"),
                      Index("ix_deadlines_open_due", "due_day", postgresql_where=text("state = 'open'"),
                            sqlite_where=text("state = 'open'")))


class MatterEvent(Base):
    """One entry of a matter's timeline: an action, who took it, when, and why."""

    __tablename__ = "matter_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[str] = mapped_column(Text, default="{}")


class Counter(Base):
    """A numbering sequence per scope and year (matter numbers, document numbers)."""

    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (UniqueConstraint("scope", "year"),)
