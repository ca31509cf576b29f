"""Joining a session from home (手机视频接访): a coordinator sends a petitioner-side seat a one-time SMS link.

The link itself is opened on the pages (/home/{token}); nothing of it is public in the JSON API.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from scheduling import home_join
from scheduling.access import load_managed
from vreception.sms.settings import sms_settings
from web.deps import ApiPrincipal, DbSession
from web.openapi import responses
from web.settings import AppPolicy

router = APIRouter(tags=["home join"])
public_router = APIRouter()  # nothing public: the link is a page


class HomeLinkIn(BaseModel):
    participant_id: int = Field(description="a petitioner, representative or agent seat of the session")
    petitioner_id: int | None = Field(default=None, description="the matter's petitioner whose registered mobile "
                                      "number gets the link and the codes; default: the one named like the seat")


class HomeLinkOut(BaseModel):
    """A home link as staff see it: never its token (only the SMS carries it)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    participant_id: int
    petitioner_id: int | None
    state: str
    join_mode: str = Field(description="home (sent, not verified) or home_verified; what the participant list shows")
    phone_tail: str
    valid_from: datetime
    valid_until: datetime
    issued_at: datetime
    verified_at: datetime | None
    failures: int
    sms_id: int | None = None


def _out(link, sms_id: int | None = None) -> HomeLinkOut:
    mode = home_join.HOME_VERIFIED if link.state.value == "verified" else home_join.HOME
    return HomeLinkOut(id=link.id, session_id=link.session_id, participant_id=link.participant_id,
                       petitioner_id=link.petitioner_id, state=link.state.value, join_mode=mode,
                       phone_tail=link.phone_tail, valid_from=link.valid_from, valid_until=link.valid_until,
                       issued_at=link.issued_at, verified_at=link.verified_at, failures=link.failures, sms_id=sms_id)


@router.post("/sessions/{session_id}/home-links", response_model=HomeLinkOut, status_code=201,
             responses=responses(404, 409, 422, s404="session_not_found, participant_not_found",
                                 s409="not_joinable", s422="home_seat_not_eligible, invalid"))
def issue_home_link(session_id: int, body: HomeLinkIn, request: Request, principal: ApiPrincipal, db: DbSession,
                    policy: AppPolicy) -> HomeLinkOut:
    """Send a one-time link by SMS to a petitioner-side seat (coordinators managing the session); earlier links of
    that seat stop working."""
    booking = load_managed(principal, session_id, db=db)
    sms = sms_settings()
    issued = home_join.issue_link(db=db, policy=policy, protector=request.app.state.protector, sms=sms,
                                  principal=principal, booking=booking, participant_id=body.participant_id,
                                  petitioner_id=body.petitioner_id, base_url=sms.public_url or str(request.base_url))
    return _out(issued.link, issued.message.id)


@router.get("/sessions/{session_id}/home-links", response_model=list[HomeLinkOut],
            responses=responses(404, s404="session_not_found"))
def list_home_links(session_id: int, principal: ApiPrincipal, db: DbSession) -> list[HomeLinkOut]:
    """The session's home links, newest first (coordinators managing the session)."""
    booking = load_managed(principal, session_id, db=db)
    return [_out(link) for link in home_join.links_of(booking, db=db)]
