"""Read models of the feed: one change as the provincial system receives it, and a page of them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from vreception.models.integration import IntegrationChange


class ChangeOut(BaseModel):
    """One change of a matter: its cursor (id), what happened, when, and the disclosed fields (payload)."""

    id: int = Field(description="the change's cursor: strictly increasing in commit order, without holes")
    matter_id: int
    matter_number: str
    kind: str = Field(description="matter.registered | matter.state | matter.handed_over | document.issued | "
                                  "document.served")
    occurred_at: datetime = Field(description="when it happened (a service may be recorded after the day it was "
                                              "made)")
    recorded_at: datetime = Field(description="when the platform wrote it")
    backfilled: bool = Field(description="rebuilt from the history by `vreception integration backfill`")
    payload: dict[str, Any] = Field(description="state, registered_on (登记日期); handover {kind, on (转交日期), "
                                                "to (unit name)}; notice or opinion (意见书) {kind, name, number, "
                                                "issued_on, served_on, method}; action and from_state")


class ChangesPage(BaseModel):
    """A page of the feed in id order; pass `next` back as `after` to resume (the same `after` gives the same page
    once it is full)."""

    items: list[ChangeOut]
    next: str = Field(description="the cursor to resume from (never null: with no new item it is the one given)")
    more: bool = Field(description="whether the page is full, so that more may follow at once")


def change_out(row: IntegrationChange) -> ChangeOut:
    """A stored change as the feed shows it."""
    return ChangeOut(id=row.id, matter_id=row.matter_id, matter_number=row.matter_number, kind=row.kind,
                     occurred_at=row.occurred_at, recorded_at=row.recorded_at, backfilled=row.backfilled,
                     payload=json.loads(row.payload))
