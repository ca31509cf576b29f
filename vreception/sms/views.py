"""What the matter page shows of its text messages: the phone masked, the text with secrets masked."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception.cases.identity import mask
from vreception.models import Matter
from vreception.models.sms import SmsMessage, SmsState

MAX_SHOWN = 100


class SmsMessageOut(BaseModel):
    """One message and its delivery state."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    template: str
    phone: str
    text: str
    parts: int
    state: SmsState
    attempts: int
    error: str
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None


def messages_of(*, db: Session, matter: Matter) -> list[SmsMessageOut]:
    """The matter's newest messages (the caller has checked the reader may read MATTER)."""
    rows = db.scalars(select(SmsMessage).where(SmsMessage.matter_id == matter.id)
                      .order_by(SmsMessage.id.desc()).limit(MAX_SHOWN))
    return [SmsMessageOut.model_validate({**{k: getattr(m, k) for k in SmsMessageOut.model_fields if k != "phone"},
                                          "phone": mask(m.phone_tail, 11)}) for m in rows]
