"""Message texts: rendered from the `sms` catalog, measured in UCS-2 parts, refused past a bound."""

from __future__ import annotations

import math
import re
from typing import Any

from vreception.errors import Invalid
from vreception.i18n import DEFAULT_LANGUAGE, translate

# Every message goes as UCS-2 (data_coding 8): one part holds 70 characters, a part of a long message 67
# (6 of its 140 bytes are the concatenation header).
SINGLE_PART_CHARS = 70
MULTIPART_CHARS = 67
MAX_PARTS = 5
# Each template and its catalog key (the `sms` domain).
KEYS = {"registered": "sms.registered", "reception_booked": "sms.reception_booked",
        "reception_rescheduled": "sms.reception_rescheduled", "reception_cancelled": "sms.reception_cancelled",
        "notice_served": "sms.notice_served", "hearing_notice": "sms.hearing_notice", "rating": "sms.rating",
        # Online requests (vreception/online) and the reception from home (scheduling/home_join).
        "online_code": "online.sms.code", "online_review_received": "online.sms.review_received",
        "online_reception_refused": "online.sms.reception_refused",
        "online_intake_declined": "online.sms.intake_declined",
        "home_link": "home_join.sms.link", "home_code": "home_join.sms.code"}
TEMPLATES = tuple(KEYS)
# Parameters that are secrets: sent, but masked in what the matter page shows (a home link carries its token).
SECRET_PARAMS = ("code", "link")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PREFIX = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$)")


def ucs2_units(text: str) -> int:
    """Characters as UCS-2 counts them (a character outside the BMP takes two)."""
    return len(text.encode("utf-16-be")) // 2


def parts_of(text: str) -> int:
    """How many SMS parts TEXT takes."""
    units = ucs2_units(text)
    return 1 if units <= SINGLE_PART_CHARS else math.ceil(units / MULTIPART_CHARS)


def mobile_number(raw: str) -> str | None:
    """The 11-digit mainland mobile number in RAW (spaces, dashes and +86 allowed), or None if it is not one."""
    digits = re.sub(r"[\s\-()]", "", raw or "")
    digits = _PREFIX.sub("", digits)
    return digits if _MOBILE.match(digits) else None


def render(template: str, *, signature: str, language: str = DEFAULT_LANGUAGE,
           **params: Any) -> tuple[str, str, int]:
    """(text sent, text shown, parts) of TEMPLATE; Invalid for an unknown template or one past MAX_PARTS."""
    if template not in TEMPLATES:
        raise Invalid("error.sms_template", field="template", template=template)
    shown = {k: "*" * len(str(v)) if k in SECRET_PARAMS else v for k, v in params.items()}
    head = f"【{signature}】" if signature else ""
    sent = head + translate(KEYS[template], language, **params)
    parts = parts_of(sent)
    if parts > MAX_PARTS:
        raise Invalid("error.sms_too_long", field="template", parts=parts, max=MAX_PARTS)
    return sent, head + translate(KEYS[template], language, **shown), parts
