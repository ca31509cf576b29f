"""Background jobs: each receives the database and opens its own transactions; all are idempotent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from vreception.clock import now
from vreception.config import Settings
from vreception.db import Database

log = logging.getLogger("vreception.jobs")
Job = Callable[[Database, Settings, datetime], object]


def task_notices(db: Database, settings: Settings, at: datetime) -> int:
    """Reminders, warnings and supervision of follow-up tasks."""
    from vreception.tasks.jobs import raise_task_notices

    with db.transaction() as session:
        return raise_task_notices(db=session, at=at, reminder_days=settings.task_reminder_days)


def deadline_notices(db: Database, settings: Settings, at: datetime) -> int:
    """Reminders, warnings and 督办 of matters' statutory deadlines (acceptance, handling, review decisions)."""
    from vreception.cases.supervision import raise_deadline_notices

    with db.transaction() as session:
        return raise_deadline_notices(db=session, at=at, reminder_days=settings.task_reminder_days)


def email_outbox(db: Database, settings: Settings, at: datetime) -> int:
    """Send the outbox's pending e-mails when SMTP is configured."""
    from vreception.notify import deliver_email

    if not settings.smtp_host:
        return 0
    with db.transaction() as session:
        return deliver_email(db=session, host=settings.smtp_host, port=settings.smtp_port, sender=settings.smtp_from,
                             user=settings.smtp_user, password=settings.smtp_password, starttls=settings.smtp_starttls)


def audit_checkpoint(db: Database, settings: Settings, at: datetime) -> int:
    """Anchor the audit chain's head outside the database, so a truncated or rewritten chain shows."""
    from vreception import audit

    with db.transaction() as session:
        return audit.write_checkpoint(Path(settings.data_dir) / "audit" / "checkpoint.json", db=session)


def sms_outbox(db: Database, settings: Settings, at: datetime) -> int:
    """Send the SMS outbox through the configured gateway (vreception/sms)."""
    from vreception.sms.jobs import sms_outbox as send

    return send(settings, at, db=db)


def month_end_figures(db: Database, settings: Settings, at: datetime) -> int:
    """Store the figures of the month just ended for every unit (and again once its rating windows close), the
    current month's days ended since the last run, its registrations by channel and category, and count again what
    late events marked stale: the reads find them ready (they still count what is missing). Returns how many months
    of rates were counted (the registrations' are logged)."""
    from vreception.cases import registration_counts
    from vreception.cases.monthly_figures import store_ended

    with db.transaction() as session:
        counted = store_ended(db=session, at=at, rating_window_days=settings.rating_window_days)
    with db.transaction() as session:
        registrations = registration_counts.store_ended(db=session, at=at)
    if registrations:
        log.info("registration counts: %d months counted", registrations)
    return counted


CORE_JOBS: list[Job] = [task_notices, deadline_notices, email_outbox, sms_outbox, audit_checkpoint, month_end_figures]


def run_once(settings: Settings, jobs: list[Job], at: datetime | None = None, *, db: Database) -> dict[str, object]:
    """Run every job once; one failing job does not stop the others."""
    moment = at or now()
    results = {}
    for job in jobs:
        try:
            results[job.__name__] = job(db, settings, moment)
        except Exception as exc:  # logged and retried on the next run
            log.exception("job %s failed", job.__name__)
            results[job.__name__] = exc
    return results


async def loop(settings: Settings, jobs: list[Job], *, db: Database) -> None:
    """Run the jobs every settings.job_interval_seconds until cancelled."""
    while True:
        await asyncio.to_thread(run_once, settings, jobs, db=db)
        await asyncio.sleep(settings.job_interval_seconds)
