"""复查/复核 asked online: within the window, the same action as the office's registering of the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from vreception.cases import actions, deadlines
from vreception.cases.errors import IllegalTransition, WindowClosed
from vreception.cases.identity import Protector
from vreception.clock import now
from vreception.i18n import Msg
from vreception.models import Matter, MatterState
from vreception.online import texting
from vreception.online.views import REVIEW_KIND_KEYS
from vreception.sms.hooks import local_time

# The state a request is possible in → the action the office would take and the window it must fall in.
WINDOWS = {MatterState.served: ("request_review", "review_request"),
           MatterState.review_served: ("request_recheck", "recheck_request")}


@dataclass(frozen=True)
class Requested:
    """What the petitioner is told: which request, the body it went to, when it arrived."""

    action: str
    body_name: str
    requested_at: datetime


def window_of(matter: Matter, at: datetime) -> tuple[str, datetime]:
    """The action a request would be now and the end of its window; a clear refusal when the state or the
    window does not allow one (checked before a code is sent, and again when the action runs)."""
    found = WINDOWS.get(matter.state)
    if found is None:
        raise IllegalTransition("online.error.review_state", state=Msg(f"state.{matter.state.value}"))
    action, kind = found
    deadline = deadlines.current(matter, kind)
    if deadline is None or deadlines.is_past(deadline, at):
        raise WindowClosed(f"error.window_{kind}", due=str(deadline.due_day) if deadline else "")
    return action, deadlines.end_of_day(deadline.due_day)


def request(*, db: Session, matter: Matter, protector: Protector, moves_off_holidays: bool = True) -> Requested:
    """Ask for 复查 (or 复核) now: it lands at the body one level up with this moment as its arrival."""
    matter = actions.lock(matter.id, db=db)
    arrived = now()
    action, _ = window_of(matter, arrived)
    actions.act(db=db, matter=matter, action=action, actor_id=None, moves_off_holidays=moves_off_holidays,
                params={"via": "online", "requested_at": arrived.isoformat()})
    body = actions.holding_node(matter, db=db)
    texting.to_matter(db=db, matter=matter, template="review_received", protector=protector,
                      kind=Msg(REVIEW_KIND_KEYS[action]), when=local_time(arrived), body=body.name)
    return Requested(action=action, body_name=body.name, requested_at=arrived)
