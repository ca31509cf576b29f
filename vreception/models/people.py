"""People who use the platform and their roles, each scoped to a node subtree."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vreception.db import Base, UTCDateTime, utcnow
from vreception.models.org import Node, Room


class Role(str, enum.Enum):
    """What a person may do; each assignment holds for one node subtree."""

    coordinator = "coordinator"  # 信访局 / 群众工作局 staff
    leader = "leader"  # 领导
    handler = "handler"  # 承办单位 staff
    hearing_member = "hearing_member"  # 听证员
    room = "room"  # a township / county video room's kiosk account
    admin = "admin"


ROLES = [r.value for r in Role]


class Person(Base):
    """A person (or a room's kiosk account); those with a username can sign in."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200), default="")
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"), index=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Wrong passwords in a row; at the configured count the account locks until an administrator unlocks it.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an administrator's password reset: the temporary password only opens the way to changing it.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    node: Mapped[Node] = relationship()
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> list[str]:
        return sorted({a.role.value for a in self.roles})


class RoleAssignment(Base):
    """One role of a person over the subtree rooted at node_id."""

    __tablename__ = "role_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=32))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    # Set for the room role only: the room this kiosk account stands for.
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id", ondelete="RESTRICT"))

    person: Mapped[Person] = relationship(back_populates="roles")
    node: Mapped[Node] = relationship(lazy="joined")
    room: Mapped[Room | None] = relationship()

    __table_args__ = (UniqueConstraint("person_id", "role", "node_id"),)


class SignIn(Base):
    """One sign-in (a page session or an API token): every request checks it is still open."""

    __tablename__ = "sign_ins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the token's jti
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    via: Mapped[str] = mapped_column(String(16))  # page | api
    client: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str] = mapped_column(String(32), default="")
