"""Follow-up tasks (交办 → 落实 → 反馈 → 跟进), their attachments and the notification outbox."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from vreception.db import Base, UTCDateTime, utcnow


class TaskState(str, enum.Enum):
    assigned = "assigned"  # 交办
    accepted = "accepted"  # the unit took it
    in_progress = "in_progress"  # 落实
    reported = "reported"  # 反馈 sent
    verified = "verified"  # the coordinator checked the report
    sent_back = "sent_back"  # report not good enough: do it again
    closed = "closed"


# The unit still owes work on these (one definition: queries, jobs, the dashboard and the partial indexes).
ACTIVE_TASK_STATES = (TaskState.assigned, TaskState.accepted, TaskState.in_progress, TaskState.sent_back)
ACTIVE_SQL = "state IN ({})".format(", ".join(f"'{state.value}'" for state in ACTIVE_TASK_STATES))


class Task(Base):
    """A follow-up task on a matter, assigned to a department with a due time."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    matter_id: Mapped[int] = mapped_column(ForeignKey("matters.id", ondelete="RESTRICT"), index=True)
    session_id: Mapped[int | None] = mapped_column(Integer)  # the reception session it was born in
    unit_node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"), index=True)
    unit_path: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[TaskState] = mapped_column(Enum(TaskState, native_enum=False, length=16), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    feedback: Mapped[str] = mapped_column(Text, default="")
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")  # why it was sent back

    # A unit's list and the office's due list read active tasks only: two years of closed ones must not be walked.
    __table_args__ = (
        Index("ix_tasks_unit_path", "unit_path", postgresql_ops={"unit_path": "text_pattern_ops"}),
        Index("ix_tasks_active_due", "due_at", postgresql_where=text(ACTIVE_SQL), sqlite_where=text(ACTIVE_SQL),
              postgresql_include=["id", "unit_path", "matter_id"]),
        Index("ix_tasks_active_unit", "unit_path", "due_at", postgresql_ops={"unit_path": "text_pattern_ops"},
              postgresql_where=text(ACTIVE_SQL), sqlite_where=text(ACTIVE_SQL)),
        # A county's due list: the active tasks of its matters, wherever they were assigned (0025).
        Index("ix_tasks_active_matter", "matter_id", postgresql_where=text(ACTIVE_SQL), sqlite_where=text(ACTIVE_SQL)),
    )


class Attachment(Base):
    """A file attached to a task report (bounded in size, hashed)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    """An outbox entry: shown in the UI to people of a node, and e-mailed when SMTP is set."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # task.reminder, task.warning, task.supervision, session.reminder
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="RESTRICT"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_to: Mapped[str] = mapped_column(String(200), default="")
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    email_error: Mapped[str] = mapped_column(Text, default="")

    # Each stage of each subject is raised once per recipient node: the job can run again safely.
    __table_args__ = (UniqueConstraint("subject_type", "subject_id", "stage", "node_id"),
                      Index("ix_notifications_email", "emailed_at", "email_to"))
