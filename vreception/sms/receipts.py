"""SMPP delivery receipts (deliver_sm with esm_class "SMSC delivery receipt"): the outbox's `delivered` state.

The SMSC answers `registered_delivery=1` with one deliver_sm per submitted part, naming the part's message id (the
`receipted_message_id` TLV, else the `id:` field of the receipt text, SMPP 3.4 appendix B) and its final state. A
message is `delivered` once every one of its parts was reported delivered, and `failed` ("undelivered: STAT") as
soon as one part is reported lost. The parts reported delivered are kept on the message (delivered_parts), so the
receipts of one message may come on different binds.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.clock import now
from vreception.models.sms import SmsMessage, SmsState

log = logging.getLogger("vreception.sms.receipts")
RECEIPT_FLAG = 0x04  # esm_class bits 2-5 = 0001: an SMSC delivery receipt
_ID = re.compile(rb"id:(\S+)")
_STAT = re.compile(rb"stat:(\w+)")
# message_state TLV values (SMPP 3.4 §5.2.28) and the receipt's stat: words, to what the outbox records.
STATES = {2: "DELIVRD", 3: "EXPIRED", 4: "DELETED", 5: "UNDELIV", 8: "REJECTD"}
DELIVERED, LOST = {"DELIVRD"}, {"EXPIRED", "DELETED", "UNDELIV", "REJECTD"}


@dataclass(frozen=True)
class Receipt:
    message_id: str
    stat: str  # DELIVRD, UNDELIV … (ACCEPTD, ENROUTE, UNKNOWN are not final)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


def parse(pdu: Any) -> Receipt | None:
    """The receipt a deliver_sm PDU carries, or None for anything else (a mobile-originated message)."""
    if getattr(pdu, "command", "") != "deliver_sm" or not int(getattr(pdu, "esm_class", 0) or 0) & RECEIPT_FLAG:
        return None
    body = pdu.short_message if isinstance(pdu.short_message, bytes) else _text(pdu.short_message).encode()
    found = _ID.search(body or b"")
    message_id = _text(getattr(pdu, "receipted_message_id", None)) or (found.group(1).decode() if found else "")
    state = getattr(pdu, "message_state", None)
    stat = STATES.get(int(state)) if state else None
    if stat is None:
        word = _STAT.search(body or b"")
        stat = word.group(1).decode() if word else "UNKNOWN"
    return Receipt(message_id.strip(), stat.upper()) if message_id.strip() else None


def _of_part(part_id: str, *, db: Session) -> SmsMessage | None:
    """The sent SMPP message one of whose parts has PART_ID (gateway_id holds the parts' ids, comma-joined)."""
    column = SmsMessage.gateway_id
    return db.scalars(select(SmsMessage).where(
        SmsMessage.gateway == "smpp", SmsMessage.state == SmsState.sent,
        or_(column == part_id, column.startswith(part_id + ",", autoescape=True),
            column.endswith("," + part_id, autoescape=True), column.contains("," + part_id + ",", autoescape=True)))
        .with_for_update()).first()


def _ids(joined: str) -> list[str]:
    return [part for part in joined.split(",") if part]


def apply(receipt: Receipt, *, db: Session, at: datetime | None = None) -> str | None:
    """Record RECEIPT on its message: the message's new state, or None when it changes nothing (a receipt for an
    unknown or already settled message, a state that is not final, or a part while others are still out)."""
    message = _of_part(receipt.message_id, db=db)
    if message is None:
        log.info("SMS receipt for unknown or settled part %r (%s), ignored", receipt.message_id, receipt.stat)
        return None
    if receipt.stat not in DELIVERED and receipt.stat not in LOST:
        return None
    if receipt.stat in LOST:
        message.state, message.error = SmsState.failed, f"undelivered: {receipt.stat}"
    else:
        delivered = set(_ids(message.delivered_parts)) | {receipt.message_id}
        message.delivered_parts = ",".join(p for p in _ids(message.gateway_id) if p in delivered)
        if not set(_ids(message.gateway_id)) <= delivered:
            db.flush()
            return None
        message.state, message.delivered_at = SmsState.delivered, at or now()
    db.flush()
    audit.record(db=db, action=f"sms.{message.state.value}", entity_type="sms", entity_id=message.id, actor_id=None,
                 data={"matter_id": message.matter_id, "template": message.template, "state": message.state.value,
                       "attempts": message.attempts, "receipt": receipt.stat, "part": receipt.message_id})
    return message.state.value


def apply_all(found: list[Receipt], *, db: Session, at: datetime | None = None) -> dict[str, int]:
    """Apply FOUND in order; how many messages each receipt moved to delivered and to failed."""
    counts = {"delivered": 0, "failed": 0}
    for receipt in found:
        state = apply(receipt, db=db, at=at)
        if state in counts:
            counts[state] += 1
    return counts
