"""The organisation: nodes of the four-level hierarchy (省市县乡) and their video rooms."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vreception.db import Base, UTCDateTime, utcnow


class NodeLevel(str, enum.Enum):
    """The four levels: province 省, city 市/州, county 县/市/区, township 乡/镇/街道."""

    province = "province"
    city = "city"
    county = "county"
    township = "township"


class NodeKind(str, enum.Enum):
    """A region (a level of government) or a functional department (职能单位) within one."""

    region = "region"
    department = "department"


LEVELS: list[NodeLevel] = [NodeLevel.province, NodeLevel.city, NodeLevel.county, NodeLevel.township]


class Node(Base):
    """A place in the hierarchy: a region or a department, with its administrative code."""

    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[NodeLevel] = mapped_column(Enum(NodeLevel, native_enum=False, length=16))
    kind: Mapped[NodeKind] = mapped_column(Enum(NodeKind, native_enum=False, length=16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"))
    # Materialized path of ids, "/1/4/17/": a subtree is a prefix match.
    path: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the node is wound up (撤并): it keeps its history but leaves lists and pickers.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    parent: Mapped[Node | None] = relationship(remote_side="Node.id")

    __table_args__ = (Index("ix_nodes_path", "path", postgresql_ops={"path": "text_pattern_ops"}), Index("ix_nodes_parent_level", "parent_id", "level"))


class Room(Base):
    """A video reception room (视频接待室) at a node."""

    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    node: Mapped[Node] = relationship()
