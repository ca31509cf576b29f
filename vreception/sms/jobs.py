"""The job-loop form of the SMS sender."""

from __future__ import annotations

import logging
from datetime import datetime

from vreception.cases.identity import Protector
from vreception.config import Settings
from vreception.db import Database
from vreception.sms.configured import gateway_from
from vreception.sms.outbox import send_due
from vreception.sms.settings import sms_settings

log = logging.getLogger("vreception.sms")


def sms_outbox(settings: Settings, at: datetime, *, db: Database) -> int:
    """Screen the due SMS and send them through the configured gateway (none: they stay queued)."""
    sms = sms_settings()
    gateway = gateway_from(sms, production=settings.is_production)
    outcome = send_due(db, gateway=gateway, protector=Protector(settings.effective_secret_key()), settings=sms, at=at)
    if outcome.unavailable:
        log.warning("SMS gateway %s unavailable: messages wait in the queue", sms.gateway)
    return outcome.sent
