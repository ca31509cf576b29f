"""The SMS outbox: queue a message, screen it (number, opt-out), and send what is due through a gateway.

Nothing is sent twice. A message moves to `sending` in its own committed transaction (a compare-and-set on
`queued`, after SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL) before the gateway is called, so a second sender
never picks it up. If the process dies between the gateway call and recording its answer, the message stays in
`sending`; after VRECEPTION_SMS_SENDING_TIMEOUT_SECONDS it is settled as failed "outcome unknown" and NOT sent
again: at most once, because a duplicate registration or reception message confuses a petitioner more than a
missing one that the matter page shows as failed (and the paper receipt or notice covers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases.identity import Protector
from vreception.clock import now
from vreception.db import Database
from vreception.errors import Invalid
from vreception.models.sms import SmsMessage, SmsOptOut, SmsState
from vreception.sms import receipts
from vreception.sms.gateways import Gateway, GatewayUnavailable, PermanentError, RetryableError
from vreception.sms.settings import SmsSettings
from vreception.sms.texts import SECRET_PARAMS, mobile_number, render


def _audit(message: SmsMessage, action: str, actor_id: int | None = None, *, db: Session, **data: Any) -> None:
    audit.record(db=db, action=f"sms.{action}", entity_type="sms", entity_id=message.id, actor_id=actor_id,
                 data={"matter_id": message.matter_id, "template": message.template, "state": message.state.value,
                       "attempts": message.attempts, **data})


def queue(*, db: Session, template: str, phone_cipher: str, phone_tail: str, settings: SmsSettings,
          matter_id: int | None = None, session_id: int | None = None, petitioner_id: int | None = None,
          protector: Protector | None = None, actor_id: int | None = None, **params: Any) -> SmsMessage:
    """Queue TEMPLATE to an encrypted phone; a message carrying a secret needs PROTECTOR to encrypt its text."""
    sent, shown, parts = render(template, signature=settings.signature, **params)
    secret = any(k in params for k in SECRET_PARAMS)
    if secret and protector is None:
        raise ValueError("a message with a secret is stored encrypted: pass the protector")
    message = SmsMessage(matter_id=matter_id, session_id=session_id, petitioner_id=petitioner_id,
                         phone_cipher=phone_cipher, phone_tail=phone_tail, template=template, text=shown,
                         text_cipher=protector.encrypt(sent) if secret and protector else "", parts=parts,
                         state=SmsState.queued, attempts=0, next_attempt_at=now(), created_at=now())
    db.add(message)
    db.flush()
    _audit(message, "queued", actor_id, db=db, parts=parts, phone_tail=phone_tail)
    return message


def opt_out_key(protector: Protector, phone: str) -> str:
    """The keyed hash an opt-out is kept under (the number normalised, so +86 and spaces match)."""
    return protector.lookup_hash("sms:" + (mobile_number(phone) or phone))


def opt_out(*, db: Session, protector: Protector, phone: str, reason: str = "", actor_id: int | None = None) -> None:
    """Record that PHONE wants no SMS (退订); queued messages to it are cancelled when next screened."""
    mobile = mobile_number(phone)
    if mobile is None:
        raise Invalid("error.sms_phone", field="phone")
    key = opt_out_key(protector, mobile)
    if db.get(SmsOptOut, key) is None:
        db.add(SmsOptOut(phone_hash=key, phone_cipher=protector.encrypt(mobile), phone_tail=mobile[-4:],
                         reason=reason[:200], created_at=now(), created_by=actor_id))
        db.flush()
        audit.record(db=db, action="sms.opted_out", entity_type="sms_opt_out", entity_id=key[:16], actor_id=actor_id,
                     data={"phone_tail": mobile[-4:], "reason": reason[:200]})


def opt_in(*, db: Session, protector: Protector, phone: str, actor_id: int | None = None) -> None:
    """Take PHONE off the opt-out list."""
    mobile = mobile_number(phone)
    row = db.get(SmsOptOut, opt_out_key(protector, mobile or phone))
    if row is not None:
        db.delete(row)
        db.flush()
        audit.record(db=db, action="sms.opted_in", entity_type="sms_opt_out", entity_id=row.phone_hash[:16],
                     actor_id=actor_id, data={"phone_tail": row.phone_tail})


def backoff(settings: SmsSettings, attempts: int) -> timedelta:
    """The wait before attempt ATTEMPTS + 1: doubling from the base, capped."""
    return timedelta(seconds=min(settings.backoff_cap_seconds, settings.backoff_seconds * 2 ** max(attempts - 1, 0)))


@dataclass
class Outcome:
    """What one run of the sender did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    unknown: int = 0
    delivered: int = 0  # messages a delivery receipt settled as delivered, or as failed (undelivered)
    undelivered: int = 0
    unavailable: bool = False
    ids: list[int] = field(default_factory=list)


def _finish(message: SmsMessage, state: SmsState, error: str = "") -> None:
    message.state, message.error = state, error[:500]
    message.text_cipher = ""  # a secret in the text does not outlive the message


def settle_stuck(*, db: Session, settings: SmsSettings, at: datetime) -> int:
    """Messages left in `sending` by a crashed sender: failed, outcome unknown, never resent (see the module)."""
    stuck = list(db.scalars(select(SmsMessage).where(
        SmsMessage.state == SmsState.sending,
        SmsMessage.sending_at < at - timedelta(seconds=settings.sending_timeout_seconds))
        .with_for_update(skip_locked=True)))
    for message in stuck:
        _finish(message, SmsState.failed, "outcome_unknown")
        _audit(message, "outcome_unknown", db=db)
    return len(stuck)


def _claim(*, db: Session, gateway: Gateway | None, protector: Protector, settings: SmsSettings, at: datetime,
           outcome: Outcome) -> list[tuple[int, str, str]]:
    """Screen the due messages and move those to send into `sending`; (id, phone, text) of each claimed."""
    due = list(db.scalars(select(SmsMessage).where(SmsMessage.state == SmsState.queued,
                                                   SmsMessage.next_attempt_at <= at)
                          .order_by(SmsMessage.next_attempt_at, SmsMessage.id).limit(settings.batch)
                          # Several senders: each row goes to whoever locks it first.
                          .with_for_update(skip_locked=True)))
    claimed = []
    for message in due:
        mobile = mobile_number(protector.decrypt(message.phone_cipher))
        reason = ("invalid_phone" if mobile is None
                  else "opted_out" if db.get(SmsOptOut, opt_out_key(protector, mobile)) is not None else "")
        if reason:
            _finish(message, SmsState.cancelled, reason)
            _audit(message, "cancelled", db=db, reason=reason)
            outcome.cancelled += 1
            continue
        if gateway is None or mobile is None:
            continue
        # Compare-and-set: on SQLite (no row locks) a second sender that read the same row updates nothing.
        result = db.execute(update(SmsMessage).where(SmsMessage.id == message.id, SmsMessage.state == SmsState.queued)
                            .values(state=SmsState.sending, attempts=SmsMessage.attempts + 1, sending_at=at,
                                    gateway=gateway.name).execution_options(synchronize_session=False))
        assert isinstance(result, CursorResult)  # an UPDATE answers with a cursor result, which counts rows
        if result.rowcount != 1:
            continue
        db.refresh(message)
        _audit(message, "sending", db=db, gateway=gateway.name)
        text = protector.decrypt(message.text_cipher) if message.text_cipher else message.text
        claimed.append((message.id, mobile, text))
    return claimed


def _record(message_id: int, *, db: Session, settings: SmsSettings, at: datetime, gateway_id: str = "",
            error: Exception | None = None, outcome: Outcome) -> None:
    message = db.get(SmsMessage, message_id, with_for_update=True)
    assert message is not None and message.state is SmsState.sending  # claimed by this sender
    if error is None:
        message.gateway_id, message.sent_at = gateway_id[:1000], at  # the column's width (SMPP: every part's id)
        _finish(message, SmsState.sent)
        _audit(message, "sent", db=db, gateway_id=gateway_id)
        outcome.sent += 1
        outcome.ids.append(message.id)
    elif isinstance(error, GatewayUnavailable):
        # Nothing was handed over: back in the queue, the attempt not counted.
        message.state, message.attempts, message.error = SmsState.queued, message.attempts - 1, "gateway_unavailable"
        message.next_attempt_at = at + timedelta(seconds=settings.backoff_seconds)
        _audit(message, "unavailable", db=db, error=str(error)[:200])
    elif isinstance(error, RetryableError) and message.attempts < settings.max_attempts:
        message.state, message.error = SmsState.queued, str(error)[:500]
        message.next_attempt_at = at + backoff(settings, message.attempts)
        _audit(message, "retry", db=db, error=str(error)[:200], next_attempt_at=message.next_attempt_at.isoformat())
        outcome.retried += 1
    else:
        _finish(message, SmsState.failed, str(error))
        _audit(message, "failed", db=db, error=str(error)[:200], permanent=isinstance(error, PermanentError))
        outcome.failed += 1


def send_due(database: Database, *, gateway: Gateway | None, protector: Protector, settings: SmsSettings,
             at: datetime | None = None) -> Outcome:
    """One run of the sender: settle stuck messages, screen the due ones, send them if a gateway is set, and record
    the delivery receipts the gateway reported meanwhile."""
    at = at or now()
    outcome = Outcome()
    with database.transaction() as tx:
        outcome.unknown = settle_stuck(db=tx, settings=settings, at=at)
    if gateway is not None:
        try:
            gateway.open()
        except GatewayUnavailable:
            # Down: the messages wait in the queue (screened still), and go out on a later run.
            outcome.unavailable, gateway = True, None
    try:
        with database.transaction() as tx:
            claimed = _claim(db=tx, gateway=gateway, protector=protector, settings=settings, at=at, outcome=outcome)
        for message_id, phone, text in claimed:
            assert gateway is not None  # nothing is claimed without one
            error: Exception | None = None
            gateway_id = ""
            if outcome.unavailable:
                error = GatewayUnavailable("gateway_unavailable")
            else:
                try:
                    gateway_id = gateway.send(phone, text, reference=f"vreception-sms-{message_id}")
                except (RetryableError, PermanentError) as failure:
                    error = failure
                    outcome.unavailable = isinstance(failure, GatewayUnavailable)
            with database.transaction() as tx:
                _record(message_id, db=tx, settings=settings, at=at, gateway_id=gateway_id,
                        error=error, outcome=outcome)
    finally:
        if gateway is not None:
            gateway.close()
    if gateway is not None and (found := gateway.receipts()):
        # Receipts of this run's messages and of earlier runs' (an SMSC hands held receipts to the next bind).
        with database.transaction() as tx:
            counts = receipts.apply_all(found, db=tx, at=now())
        outcome.delivered, outcome.undelivered = counts["delivered"], counts["failed"]
    return outcome
