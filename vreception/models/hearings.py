"""Hearings (信访听证): the decision to hold one, its panel, notices, 回避, agenda, opinions and conclusion."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Enum, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vreception.db import Base, UTCDateTime, utcnow


class HearingStage(str, enum.Enum):
    """When in the life of the matter the hearing is held (条例 Arts. 31, 36)."""

    handling = "handling"  # 办理 (matter accepted)
    recheck = "recheck"  # 复核 (its time does not count toward the 复核 period)


class HearingState(str, enum.Enum):
    """Where a hearing stands."""

    requested = "requested"  # asked for by the petitioner or proposed by the office; awaiting the decision
    refused = "refused"  # 不予听证 (notice issued)
    decided = "decided"  # to be held (听证告知书 issued); the panel is being composed
    noticed = "noticed"  # booked, 听证通知书 issued to every participant
    in_session = "in_session"  # the hearing session is live
    held = "held"  # the session ended; the 笔录 is being signed, the conclusion is due
    concluded = "concluded"  # 听证结论 issued
    cancelled = "cancelled"


class ClosedReason(str, enum.Enum):
    """The only reasons a hearing is not public (条例 Art. 31)."""

    state_secret = "state_secret"  # 国家秘密
    trade_secret = "trade_secret"  # 商业秘密
    privacy = "privacy"  # 个人隐私


class AgendaStep(str, enum.Enum):
    """The order of proceedings the chair runs, in order."""

    opening = "opening"  # 宣布开始、核对身份、告知权利、询问回避
    petitioner_states = "petitioner_states"  # 信访人陈述
    handler_answers = "handler_answers"  # 承办单位答复（事实与依据）
    cross_examination = "cross_examination"  # 质证、辩论
    final_statements = "final_statements"  # 最后陈述
    deliberation = "deliberation"  # 合议（不公开）
    conclusion = "conclusion"  # 宣布听证结论或另行送达


class Hearing(Base):
    """One hearing on one matter: decided by the office, held by video, concluded in writing."""

    __tablename__ = "hearings"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    # The office that holds the hearing (the handling or the 复核 body).
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"), index=True)
    stage: Mapped[HearingStage] = mapped_column(Enum(HearingStage, native_enum=False, length=16))
    state: Mapped[HearingState] = mapped_column(Enum(HearingState, native_enum=False, length=16), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by_petitioner: Mapped[bool] = mapped_column(Boolean, default=False)
    request_reason: Mapped[str] = mapped_column(Text, default="")
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    decision_due: Mapped[date] = mapped_column(Date)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decision_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    closed_reason: Mapped[ClosedReason | None] = mapped_column(Enum(ClosedReason, native_enum=False, length=16))
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    recorder_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="RESTRICT"), unique=True)
    # The petitioner waived the notice period in writing (the waiver is an uploaded or noted statement).
    notice_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    waiver_note: Mapped[str] = mapped_column(Text, default="")
    noticed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The hearing session's actual start and end (from the call), which drive the 复核 clock exclusion.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    excluded_days: Mapped[int] = mapped_column(Integer, default=0)
    agenda_step: Mapped[AgendaStep | None] = mapped_column(Enum(AgendaStep, native_enum=False, length=24))
    conclusion_due: Mapped[date | None] = mapped_column(Date)
    conclusion_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="RESTRICT"))
    # The office decided to publish the opinion made after the hearing (a public page without personal data).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The public gallery's link key (a random token), set when a public hearing is noticed.
    gallery_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    panel: Mapped[list[PanelMember]] = relationship(
        back_populates="hearing", cascade="all, delete-orphan", order_by="PanelMember.id", lazy="selectin")
    recusals: Mapped[list[Recusal]] = relationship(
        back_populates="hearing", cascade="all, delete-orphan", order_by="Recusal.id", lazy="selectin")
    steps: Mapped[list[AgendaEntry]] = relationship(
        back_populates="hearing", cascade="all, delete-orphan", order_by="AgendaEntry.id", lazy="selectin")


class PanelMember(Base):
    """A hearing member (听证员) on the panel, whether the petitioner chose them, and their opinion."""

    __tablename__ = "hearing_panel"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    chosen_by_petitioner: Mapped[bool] = mapped_column(Boolean, default=False)
    opinion: Mapped[str] = mapped_column(Text, default="")
    opinion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Withdrawn after a granted 回避 request: kept for the record, no longer sits.
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)

    hearing: Mapped[Hearing] = relationship(back_populates="panel")

    __table_args__ = (UniqueConstraint("hearing_id", "person_id"),)


class Recusal(Base):
    """A 回避 request against the chair, a panel member or the recorder, and the chair's decision."""

    __tablename__ = "hearing_recusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    against_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    requested_by: Mapped[str] = mapped_column(String(100))  # who asked (the petitioner's name, usually)
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted: Mapped[bool | None] = mapped_column(Boolean)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    hearing: Mapped[Hearing] = relationship(back_populates="recusals")


class AgendaEntry(Base):
    """The chair moved the hearing to an agenda step, at an offset into the recording."""

    __tablename__ = "hearing_agenda"

    id: Mapped[int] = mapped_column(primary_key=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("hearings.id", ondelete="CASCADE"), index=True)
    step: Mapped[AgendaStep] = mapped_column(Enum(AgendaStep, native_enum=False, length=24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offset_s: Mapped[float | None] = mapped_column(Float)
    by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))

    hearing: Mapped[Hearing] = relationship(back_populates="steps")


class RosterEntry(Base):
    """A hearing member (听证员) on an office's roster: lawyers, deputies, community representatives."""

    __tablename__ = "hearing_roster"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    profession: Mapped[str] = mapped_column(String(100), default="")  # 律师、人大代表、社区代表…
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("node_id", "person_id"),)
