"""What the online tests share: a matter brought to a state by the services, and the code an SMS carried."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import act_on, register_matter
from vreception.cases.identity import Protector
from vreception.models.sms import SmsMessage
from vreception.online.limits import build

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def protector_of(settings) -> Protector:
    return Protector(settings.effective_secret_key())


def fresh_limits():
    """In-process counters of a fresh app."""
    return build(None)


def served_matter(tx, org, settings, *, serial=1, phone="13800138000"):
    """A matter replied to and served by county A (the 复查 window open); (matter, query code)."""
    matter, code = register_matter(tx, org, settings, serial=serial, phone=phone)
    act_on(tx, org, matter, "accept")
    act_on(tx, org, matter, "reply", params={"outcome": "not_support", "reason": "经核查，工资已结清。"})
    act_on(tx, org, matter, "serve", params={"method": "direct"})
    return matter, code


def last_code(tx, protector: Protector) -> str:
    """The six digits of the latest code message, as the phone receives them (the stored text masks them)."""
    message = tx.scalars(select(SmsMessage).where(SmsMessage.template == "online_code")
                         .order_by(SmsMessage.id.desc())).first()
    assert message is not None and "******" in message.text
    return re.search(r"验证码(\d{6})", protector.decrypt(message.text_cipher)).group(1)
