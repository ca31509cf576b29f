"""The online requests' text messages, queued in the SMS outbox (their texts: the `online` catalog)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vreception.cases.identity import Protector
from vreception.models import Matter, Petitioner
from vreception.models.sms import SmsMessage
from vreception.sms import outbox
from vreception.sms.settings import sms_settings
from vreception.sms.texts import mobile_number

# The online templates; the outbox's template is "online_" + the name (its text: vreception.sms.texts.KEYS).
KEYS = ("code", "review_received", "reception_refused", "intake_declined")


def send(*, db: Session, template: str, phone_cipher: str, phone_tail: str, protector: Protector,
         matter_id: int | None = None, petitioner_id: int | None = None, actor_id: int | None = None,
         **params: Any) -> SmsMessage:
    """Queue online TEMPLATE (a name of KEYS) to an encrypted phone through the SMS outbox."""
    return outbox.queue(db=db, template=f"online_{template}", phone_cipher=phone_cipher, phone_tail=phone_tail,
                        settings=sms_settings(), matter_id=matter_id, petitioner_id=petitioner_id,
                        protector=protector, actor_id=actor_id, **params)


def matter_phone(matter: Matter, protector: Protector) -> tuple[Petitioner, str] | None:
    """The petitioner a matter's codes go to (a representative first) and their mobile number, or None."""
    links = sorted(matter.petitioner_links, key=lambda link: (not link.representative, link.position))
    for link in links:
        mobile = mobile_number(protector.decrypt(link.petitioner.phone_cipher))
        if mobile:
            return link.petitioner, mobile
    return None


def to_matter(*, db: Session, matter: Matter, template: str, protector: Protector, actor_id: int | None = None,
              **params: Any) -> int:
    """TEMPLATE to the phone of each petitioner of MATTER who has one; how many were queued."""
    count = 0
    for link in matter.petitioner_links:
        person = link.petitioner
        if person.phone_cipher:
            send(db=db, template=template, phone_cipher=person.phone_cipher, phone_tail=person.phone_tail,
                 protector=protector, matter_id=matter.id, petitioner_id=person.id, actor_id=actor_id,
                 number=matter.number, **params)
            count += 1
    return count
