"""The outbox's share of a secret-key rotation (vreception/keys.py): phones and texts re-encrypted, opt-outs re-hashed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.cases.identity import Protector
from vreception.models.sms import SmsMessage, SmsOptOut
from vreception.sms.outbox import opt_out_key


def rekey(*, db: Session, old: Protector, new: Protector) -> int:
    """Move every SMS row from OLD to NEW in DB's transaction; how many rows changed."""
    count = 0
    for message in db.scalars(select(SmsMessage).order_by(SmsMessage.id)):
        message.phone_cipher = new.encrypt(old.decrypt(message.phone_cipher))
        message.text_cipher = new.encrypt(old.decrypt(message.text_cipher))
        count += 1
    for row in list(db.scalars(select(SmsOptOut))):
        phone = old.decrypt(row.phone_cipher)
        db.delete(row)
        db.flush()
        db.add(SmsOptOut(phone_hash=opt_out_key(new, phone), phone_cipher=new.encrypt(phone), phone_tail=row.phone_tail,
                         reason=row.reason, created_at=row.created_at, created_by=row.created_by))
        count += 1
    db.flush()
    return count
