"""Read models of the online requests, shared by the API (response_model) and the pages."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from vreception.cases.identity import mask

# The catalog key of each kind, state and review action (spelled out: the key check finds every one).
KIND_KEYS = {"reception": "online.kind.reception", "intake": "online.kind.intake"}
STATE_KEYS = {"waiting": "online.state.waiting", "approved": "online.state.approved",
              "refused": "online.state.refused"}
REVIEW_KIND_KEYS = {"request_review": "online.review_kind.request_review",
                    "request_recheck": "online.review_kind.request_recheck"}
PURPOSE_KEYS = {"review": "online.purpose.review", "reception": "online.purpose.reception",
                "intake": "online.purpose.intake"}
KEYS = {"kind": KIND_KEYS, "state": STATE_KEYS, "review_kind": REVIEW_KIND_KEYS, "purpose": PURPOSE_KEYS}


class DraftFileOut(BaseModel):
    sha256: str
    filename: str
    content_type: str
    bytes: int
    pages: int


class OnlineRequestOut(BaseModel):
    """A request in the coordinators' queue: a reception asked for a matter, or an online petition's draft."""

    id: int
    kind: str
    state: str
    node_id: int
    node_name: str
    received_at: datetime
    matter_id: int | None
    matter_number: str | None
    preferred_days: list[date]
    room_id: int | None
    room_name: str | None
    note: str
    name: str
    id_number_masked: str
    phone_tail: str
    address_node_id: int | None
    address_name: str | None
    about: str
    demands: str
    files: list[DraftFileOut]
    decided_at: datetime | None
    reason: str


def masked_id(tail: str) -> str:
    return mask(tail) if tail else ""
