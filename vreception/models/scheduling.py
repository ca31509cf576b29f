"""Reception plans, room hours, booked sessions, their participants and resource claims."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import Boolean, Date, Enum, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vreception.db import Base, UTCDateTime, utcnow


class PlanKind(str, enum.Enum):
    """The shapes of a fixed reception day (固定接访日)."""

    monthly_day = "monthly_day"  # day N of each month, moved to the next working day
    weekly = "weekly"  # weekday W (a morning or an afternoon)
    rotation = "rotation"  # every working day, one leader of a list after another
    dates = "dates"  # one-off days


class ReceptionPlan(Base):
    """A published, recurring reception plan of one leader (or a rotation of leaders) at an office."""

    __tablename__ = "reception_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[PlanKind] = mapped_column(Enum(PlanKind, native_enum=False, length=16))
    day_of_month: Mapped[int | None] = mapped_column(Integer)
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday
    starts: Mapped[time] = mapped_column(Time)  # local time (settings.time_zone)
    ends: Mapped[time] = mapped_column(Time)
    slot_minutes: Mapped[int] = mapped_column(Integer)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    scope: Mapped[str] = mapped_column(Text, default="")  # the leader's published scope of matters
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    leaders: Mapped[list[PlanLeader]] = relationship(cascade="all, delete-orphan", order_by="PlanLeader.position",
                                                     lazy="selectin")
    rooms: Mapped[list[PlanRoom]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    dates: Mapped[list[PlanDate]] = relationship(cascade="all, delete-orphan", order_by="PlanDate.day",
                                                 lazy="selectin")


class PlanLeader(Base):
    """A leader of a plan; a rotation plan has several, in order."""

    __tablename__ = "plan_leaders"

    plan_id: Mapped[int] = mapped_column(ForeignKey("reception_plans.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)


class PlanRoom(Base):
    """A room where the plan's leader sits."""

    __tablename__ = "plan_rooms"

    plan_id: Mapped[int] = mapped_column(ForeignKey("reception_plans.id", ondelete="CASCADE"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"), primary_key=True)


class PlanDate(Base):
    """A one-off reception day of a plan of kind dates."""

    __tablename__ = "plan_dates"

    plan_id: Mapped[int] = mapped_column(ForeignKey("reception_plans.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class LeaderAbsence(Base):
    """A day a leader is away: none of their plans holds that day."""

    __tablename__ = "leader_absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (UniqueConstraint("leader_id", "day"),)


class RoomHours(Base):
    """Opening hours of a room on working days (or on one weekday when weekday is set)."""

    __tablename__ = "room_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int | None] = mapped_column(Integer)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)


class RoomClosure(Base):
    """A period a room is closed (maintenance, an event)."""

    __tablename__ = "room_closures"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")


class SessionKind(str, enum.Enum):
    reception = "reception"  # 接访 (scheduled 定点, invited 约访, walk-in 现场)
    hearing = "hearing"  # 听证
    consultation = "consultation"  # 会商


class SessionState(str, enum.Enum):
    booked = "booked"
    open = "open"  # a room joined, waiting
    live = "live"  # the leader admitted the petitioner
    ended = "ended"
    no_show = "no_show"
    cancelled = "cancelled"


class ReceptionSession(Base):
    """A booked video session: its time, leader, rooms, matter and state."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SessionKind] = mapped_column(Enum(SessionKind, native_enum=False, length=16))
    state: Mapped[SessionState] = mapped_column(Enum(SessionState, native_enum=False, length=16), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("reception_plans.id", ondelete="RESTRICT"))
    # The leader's node path, copied so subtree filters need no join.
    node_path: Mapped[str] = mapped_column(String(255))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    ad_hoc: Mapped[bool] = mapped_column(Boolean, default=False)  # 现场接访
    invited: Mapped[bool] = mapped_column(Boolean, default=False)  # 约访
    # Every session is recorded as evidence, except hearings on state secrets the booking exempts.
    recorded: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    reason: Mapped[str] = mapped_column(Text, default="")
    override_reason: Mapped[str] = mapped_column(Text, default="")  # why a level skip was allowed
    booked_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0)  # reschedules, the ICS SEQUENCE

    participants: Mapped[list[Participant]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="Participant.id", lazy="selectin")

    __table_args__ = (Index("ix_sessions_node_path", "node_path", postgresql_ops={"node_path": "text_pattern_ops"}),)


class Participant(Base):
    """Someone (or a room) taking part in a session."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), index=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    node_path: Mapped[str] = mapped_column(String(255), default="")

    session: Mapped[ReceptionSession] = relationship(back_populates="participants")

    __table_args__ = (Index("ix_participants_node_path", "node_path",
                            postgresql_ops={"node_path": "text_pattern_ops"}),)


class Claim(Base):
    """One resource held by one session for one time quantum: the primary key forbids double booking."""

    __tablename__ = "claims"

    resource: Mapped[str] = mapped_column(String(32), primary_key=True)  # "leader:7", "room:3", "person:9"
    slot: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)


class SessionEvent(Base):
    """One change in a session's history: booked, rescheduled, cancelled, no-show, with old and new times."""

    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
