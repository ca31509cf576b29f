"""SMS verification codes (短信验证码): six digits to a phone, kept as a keyed hash, ten minutes, five tries.

A code is bound to what it is for (a matter, or the phone of an online petition) through a random challenge that
the form carries back; the challenge is stored as its SHA-256 only. Sending is bounded per phone number and per
client address; every code sent, tried and used is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases.identity import Protector
from vreception.cases.public import RateLimited
from vreception.clock import now
from vreception.errors import Invalid
from vreception.i18n import Msg
from vreception.models.online import OnlineCode
from vreception.online import texting
from vreception.online.errors import CodeRejected
from vreception.online.limits import OnlineLimits
from vreception.online.views import PURPOSE_KEYS
from vreception.sms.codes import CODE_MINUTES, CODE_TTL, new_code, typed
from vreception.sms.texts import mobile_number

PURPOSES = tuple(PURPOSE_KEYS)
MAX_TRIES = 5
MAX_CHALLENGE = 64


@dataclass(frozen=True)
class Sent:
    """What the form needs after a code went out: the challenge to carry back, where it went, until when."""

    challenge: str
    phone_tail: str
    expires_at: datetime


def mobile_or_invalid(phone: str, field: str = "phone") -> str:
    """The 11-digit mainland mobile number in PHONE, or Invalid."""
    mobile = mobile_number(phone)
    if mobile is None:
        raise Invalid("online.error.phone", field=field)
    return mobile


def phone_key(protector: Protector, mobile: str) -> str:
    """The keyed hash a phone number is counted and bound under."""
    return protector.lookup_hash("online-phone:" + mobile)


def _challenge_hash(challenge: str) -> str:
    return hashlib.sha256(challenge[:MAX_CHALLENGE].encode()).hexdigest()


def _code_hash(protector: Protector, challenge: str, code: str) -> str:
    return protector.lookup_hash(f"online-code:{challenge[:MAX_CHALLENGE]}:{code}")


def send_code(*, db: Session, protector: Protector, limits: OnlineLimits, purpose: str, phone: str, client: str,
              matter_id: int | None = None, petitioner_id: int | None = None) -> Sent:
    """Send a fresh code for PURPOSE to PHONE (bound to MATTER_ID when given); 429 past the per-number or
    per-client allowance."""
    if purpose not in PURPOSES:
        raise Invalid("online.error.purpose", field="purpose")
    mobile = mobile_or_invalid(phone)
    key = phone_key(protector, mobile)
    if not limits.per_client.attempt(f"online-send:client:{client}") \
            or not limits.per_number.attempt(f"online-send:phone:{key}"):
        raise RateLimited("online.error.rate_limited")
    code = new_code()
    challenge = secrets.token_urlsafe(24)
    moment = now()
    row = OnlineCode(challenge_hash=_challenge_hash(challenge), purpose=purpose, matter_id=matter_id, phone_hash=key,
                     phone_tail=mobile[-4:], code_hash=_code_hash(protector, challenge, code), tries=0,
                     created_at=moment, expires_at=moment + CODE_TTL)
    db.add(row)
    db.flush()
    texting.send(db=db, template="code", phone_cipher=protector.encrypt(mobile), phone_tail=mobile[-4:],
                 protector=protector, petitioner_id=petitioner_id, code=code,
                 purpose=Msg(PURPOSE_KEYS[purpose]), minutes=CODE_MINUTES)
    audit.record(db=db, action="online.code_sent", entity_type="online_code", entity_id=row.id,
                 data={"purpose": purpose, "matter_id": matter_id, "phone_tail": row.phone_tail})
    return Sent(challenge=challenge, phone_tail=row.phone_tail, expires_at=row.expires_at)


def check_code(*, db: Session, protector: Protector, challenge: str, code: str, purpose: str,
               matter_id: int | None = None, phone: str | None = None) -> OnlineCode:
    """The code row if CODE is right for CHALLENGE and what it is bound to; every try counts (CodeRejected
    otherwise). The caller commits the count even when it answers with the error, and consumes the row with the
    change it allows."""
    row = db.scalar(select(OnlineCode).where(OnlineCode.challenge_hash == _challenge_hash(challenge or "")))
    bound = row is not None and row.purpose == purpose and (matter_id is None or row.matter_id == matter_id) \
        and (phone is None or row.phone_hash == phone_key(protector, mobile_number(phone) or phone))
    if row is None or not bound:
        raise CodeRejected("online.error.code_unknown")
    if row.used_at is not None:
        raise CodeRejected("online.error.code_used")
    if now() > row.expires_at:
        raise CodeRejected("online.error.code_expired")
    # Counted in one UPDATE: concurrent tries cannot pass the bound.
    counted = db.execute(update(OnlineCode).where(OnlineCode.id == row.id, OnlineCode.tries < MAX_TRIES)
                         .values(tries=OnlineCode.tries + 1).execution_options(synchronize_session=False))
    assert isinstance(counted, CursorResult)  # an UPDATE answers with a cursor result
    if counted.rowcount != 1:
        raise CodeRejected("online.error.code_tries")
    db.refresh(row)
    given = typed(code)
    if given is None or not hmac.compare_digest(row.code_hash, _code_hash(protector, challenge, given)):
        left = MAX_TRIES - row.tries
        audit.record(db=db, action="online.code_wrong", entity_type="online_code", entity_id=row.id,
                     data={"purpose": purpose, "tries": row.tries})
        raise CodeRejected("online.error.code_wrong" if left else "online.error.code_tries", left=left)
    return row


def consume(row: OnlineCode, *, db: Session) -> None:
    """Use the code up (once), with the change it allowed."""
    row.used_at = now()
    audit.record(db=db, action="online.code_used", entity_type="online_code", entity_id=row.id,
                 data={"purpose": row.purpose, "matter_id": row.matter_id, "tries": row.tries})
