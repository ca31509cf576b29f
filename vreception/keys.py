"""Rotating VRECEPTION_SECRET_KEY: personal data re-encrypted, lookup hashes and the audit chain re-keyed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases.identity import Protector
from vreception.cases.register import lookup_key
from vreception.models import Matter, Petitioner
from vreception.sms.rekey import rekey as rekey_sms


@dataclass
class Rotation:
    """What a rotation changed, and what it could not."""

    petitioners: int
    audit_events: int
    # Only the keyed hash of a query code (查询码) is stored: it cannot be re-keyed without the code itself.
    query_codes_left: int


def rotate(*, db: Session, old_secret: str, new_secret: str, checkpoint: Path | None = None) -> Rotation:
    """Move everything keyed with OLD_SECRET to NEW_SECRET in SESSION's transaction (nothing written on an error);
    the audit chain must verify under the old key and reach its CHECKPOINT first."""
    if old_secret == new_secret:
        raise ValueError("the old and the new secret key are the same")
    events = audit.rekey(db=db, old=audit.key_from_secret(old_secret), new=audit.key_from_secret(new_secret),
                         checkpoint=checkpoint)
    old, new = Protector(old_secret), Protector(new_secret)
    count = 0
    for person in db.scalars(select(Petitioner).order_by(Petitioner.id)):
        # KeyMismatch here means OLD_SECRET is not the key this data was stored under: the transaction rolls back.
        number = old.decrypt(person.id_cipher)
        person.id_cipher = new.encrypt(number)
        person.phone_cipher = new.encrypt(old.decrypt(person.phone_cipher))
        person.address_cipher = new.encrypt(old.decrypt(person.address_cipher))
        if person.id_hash is not None:
            person.id_hash = lookup_key(new, person.kind, number)
        count += 1
    # The SMS outbox keeps phones (and unsent texts) under the same key.
    rekey_sms(db=db, old=old, new=new)
    left = db.scalar(select(func.count()).select_from(Matter)) or 0
    audit.record(db=db, action="keys.rotated", entity_type="installation", entity_id="secret_key",
                 data={"petitioners": count, "audit_events": events, "query_codes_left": left})
    return Rotation(petitioners=count, audit_events=events, query_codes_left=left)
