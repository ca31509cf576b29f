"""The matter page's text-message section: the read model (vreception.sms.views), the catalog keys its template
shows, and whether a gateway is set."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vreception.models import Matter
from vreception.sms.settings import sms_settings
from vreception.sms.views import messages_of

TEMPLATES = {"registered": "sms.template.registered", "reception_booked": "sms.template.reception_booked",
             "reception_rescheduled": "sms.template.reception_rescheduled",
             "reception_cancelled": "sms.template.reception_cancelled", "notice_served": "sms.template.notice_served",
             "hearing_notice": "sms.template.hearing_notice", "rating": "sms.template.rating",
             "online_code": "sms.template.online_code", "online_review_received": "sms.template.online_review_received",
             "online_reception_refused": "sms.template.online_reception_refused",
             "online_intake_declined": "sms.template.online_intake_declined",
             "home_link": "sms.template.home_link", "home_code": "sms.template.home_code"}
STATES = {"queued": "sms.state.queued", "sending": "sms.state.sending", "sent": "sms.state.sent",
          "delivered": "sms.state.delivered", "failed": "sms.state.failed", "cancelled": "sms.state.cancelled"}
# The outbox's own reasons; a gateway's error text is shown as it came.
REASONS = {"opted_out": "sms.reason.opted_out", "invalid_phone": "sms.reason.invalid_phone",
           "outcome_unknown": "sms.reason.outcome_unknown", "gateway_unavailable": "sms.reason.gateway_unavailable"}


def sms_section(matter: Matter, *, db: Session) -> dict[str, Any]:
    """Context for _sms_messages.html (the caller has checked the reader may read MATTER)."""
    return {"sms_messages": messages_of(db=db, matter=matter), "sms_gateway": sms_settings().gateway != "none",
            "sms_keys": {"template": TEMPLATES, "state": STATES, "reason": REASONS}}
