"""The notification outbox: raise each notice once, show it in the UI, e-mail it when SMTP is set."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from sqlalchemy import ColumnElement, CursorResult, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from vreception.clock import now
from vreception.models import Notification, Person

MAX_EMAIL_ATTEMPTS = 5


def raise_once(*, db: Session, kind: str, subject_type: str, subject_id: int, stage: str, node_id: int,
               title: str, body: str = "", email_to: str = "") -> bool:
    """Add a notification unless this stage of this subject was raised for NODE_ID already; True if added."""
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = db.execute(
        insert(Notification).values(kind=kind, subject_type=subject_type, subject_id=subject_id, stage=stage,
                                    node_id=node_id, title=title[:200], body=body, created_at=now(),
                                    email_to=email_to[:200], email_attempts=0, email_error="")
        .on_conflict_do_nothing()
    )
    assert isinstance(result, CursorResult)  # an INSERT answers with a cursor result, which counts rows
    return result.rowcount == 1


def emails_of_node(node_id: int, *, db: Session) -> str:
    """The e-mail addresses of the active people at a node, comma-separated."""
    rows = db.scalars(select(Person.email).where(Person.node_id == node_id, Person.active.is_(True),
                                                      Person.email != ""))
    return ",".join(sorted(set(rows)))[:200]


def deliver_email(*, db: Session, host: str, port: int, sender: str, user: str = "", password: str = "",
                  starttls: bool = False, limit: int = 100) -> int:
    """Send pending e-mails from the outbox; returns how many were sent. Failures are kept and retried."""
    if not host:
        return 0
    pending = db.scalars(
        select(Notification).where(Notification.emailed_at.is_(None), Notification.email_to != "",
                                   Notification.email_attempts < MAX_EMAIL_ATTEMPTS)
        .order_by(Notification.id).limit(limit)
        # Several server processes may run this job: each row is sent by whoever locks it first.
        .with_for_update(skip_locked=True)
    ).all()
    if not pending:
        return 0
    sent = 0
    with smtplib.SMTP(host, port, timeout=10) as smtp:
        if starttls:
            smtp.starttls()
        if user:
            smtp.login(user, password)
        for note in pending:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = sender, note.email_to, note.title
            message.set_content(note.body or note.title)
            note.email_attempts += 1
            try:
                smtp.send_message(message)
            except smtplib.SMTPException as exc:
                note.email_error = str(exc)[:500]
                continue
            note.emailed_at = now()
            sent += 1
    db.flush()
    return sent


def inbox(*, db: Session, within: ColumnElement[bool], limit: int = 20) -> list[Notification]:
    """The newest notifications addressed to nodes matching WITHIN (a condition on Node.path), each notice once.

    One notice raised for several recipients (a session's reminder reaches its leader, its rooms and the coordinator
    who booked it) is one line to a reader who oversees them all.
    """
    from vreception.models import Node

    rows = db.scalars(select(Notification).join(Node, Notification.node_id == Node.id).where(within)
                      .order_by(Notification.id.desc()).limit(limit * 4))
    seen: set[tuple[str, int, str]] = set()
    out: list[Notification] = []
    for note in rows:
        key = (note.subject_type, note.subject_id, note.title)
        if key not in seen:
            seen.add(key)
            out.append(note)
    return out[:limit]
