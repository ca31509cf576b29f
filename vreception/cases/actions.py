"""The life of a matter as actions: who may move it from which state, within which window."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit, documents
from vreception.cases import deadlines
from vreception.cases.errors import IllegalTransition, WindowClosed
from vreception.clock import now
from vreception.errors import Invalid, NotFound
from vreception.i18n import Msg
from vreception.models import (
    Deadline,
    DeadlineState,
    Document,
    Matter,
    MatterEvent,
    MatterState,
    Node,
    Person,
    RepeatLink,
    Role,
)

S = MatterState
REPLY_OUTCOMES = ("support", "explain", "not_support")  # 支持 / 解释说明 / 不予支持
OUTCOME_TEXT = {"support": "支持", "explain": "解释说明", "not_support": "不予支持"}
LEGAL_CHANNEL_TEXT = {"litigation": "诉讼", "arbitration": "仲裁", "administrative_review": "行政复议"}
MAX_REASON = 4000


@dataclass
class Step:
    """What an action needs: the session, who acts, when, and the clock settings."""

    session: Session
    matter: Matter
    actor_id: int | None
    at: datetime
    params: dict[str, Any]
    moves_off_holidays: bool = True

    def reason(self, required: bool = True) -> str:
        text = str(self.params.get("reason") or "").strip()
        if required and not text:
            raise Invalid("error.reason_required", field="reason")
        if len(text) > MAX_REASON:
            raise Invalid("error.reason_too_long", field="reason", max=MAX_REASON)
        return text

    def open(self, kind: str, start: datetime | None = None) -> Deadline:
        return deadlines.open_deadline(self.session, self.matter, kind, start or self.at,
                                       moves_off_holidays=self.moves_off_holidays)

    def issue(self, kind: str, **context: Any) -> Document:
        return documents.issue(self.session, matter=self.matter, kind=kind, actor_id=self.actor_id,
                               addressee=addressee(self.matter), **context)


def addressee(matter: Matter) -> str:
    """The petitioner(s) a notice is addressed to; a group by its representatives."""
    links = [link for link in matter.petitioner_links if link.representative] or matter.petitioner_links
    names = "、".join(link.petitioner.name for link in links[:5])
    return names + ("等" if len(matter.petitioner_links) > len(links[:5]) else "")


def _within(step: Step, kind: str) -> None:
    deadline = deadlines.current(step.matter, kind)
    if deadline is None or deadlines.is_past(deadline, step.at):
        raise WindowClosed(f"error.window_{kind}", due=str(deadline.due_day) if deadline else "")


def _repeat_of_final(step: Step) -> Matter | None:
    for earlier_id in step.session.scalars(select(RepeatLink.earlier_id).where(RepeatLink.matter_id == step.matter.id)):
        earlier = step.session.get(Matter, earlier_id)
        assert earlier is not None  # a foreign key of the link
        if earlier.state is S.final:
            return earlier
    return None


def _decided(step: Step) -> None:
    step.matter.decided_at = step.at
    deadlines.finish(step.matter, "acceptance", step.at)
    deadlines.cancel(step.matter, "remit_objection")


def accept(step: Step) -> MatterState:
    earlier = _repeat_of_final(step)
    if earlier is not None:
        # Art. 36: after the second review, the same facts and reasons are not accepted again.
        raise WindowClosed("error.window_final", number=earlier.number)
    _decided(step)
    step.matter.accepted_at = step.at
    step.open("handling")
    step.issue("acceptance_notice")
    return S.accepted


def not_accept(step: Step) -> MatterState:
    reason = step.reason()
    _decided(step)
    channel = next((d.legal_channel for d in step.matter.demands if d.legal_channel), None)
    step.issue("rejection_notice", reason=reason, legal_channel=LEGAL_CHANNEL_TEXT.get(channel, "") if channel else "")
    step.matter.outcome = "not_accepted"
    return S.closed


def refuse_repeat(step: Step) -> MatterState:
    earlier = _repeat_of_final(step)
    if earlier is None:
        raise Invalid("error.not_a_repeat_of_final", field="action")
    _decided(step)
    step.issue("rejection_notice", reason=step.reason(required=False) or f"参见已终结事项 {earlier.number}。",
               not_reaccepted=True, legal_channel="")
    step.matter.outcome = "not_reaccepted"
    return S.closed


def _target_node(step: Step) -> Node:
    node_id = step.params.get("to_node_id")
    node = step.session.get(Node, node_id) if isinstance(node_id, int) else None
    if node is None:
        raise NotFound("error.node_not_found", field="to_node_id", id=node_id)
    return node


def transfer(step: Step) -> MatterState:
    node = _target_node(step)
    step.reason()
    _decided(step)
    step.matter.outcome = "transferred"
    step.params["to_node_name"] = node.name
    return S.closed


def assign(step: Step) -> MatterState:
    node = _target_node(step)
    _decided(step)
    step.params["to_node_name"] = node.name
    return S.assigned


def report_completion(step: Step) -> MatterState:
    step.reason()
    step.matter.outcome = "assigned_done"
    return S.closed


def object_remit(step: Step) -> MatterState:
    _within(step, "remit_objection")
    step.reason()
    deadlines.finish(step.matter, "remit_objection", step.at)
    deadlines.cancel(step.matter, "acceptance")
    step.matter.decided_at = step.at
    step.matter.outcome = "remit_objected"
    return S.closed


def extend(step: Step) -> MatterState:
    if step.matter.extended:
        raise WindowClosed("error.window_second_extension")
    _within(step, "handling")
    days = step.params.get("days")
    if not isinstance(days, int) or not 1 <= days <= deadlines.MAX_EXTENSION_DAYS:
        raise Invalid("error.extension_days", field="days", max=deadlines.MAX_EXTENSION_DAYS)
    reason = step.reason()
    deadline = deadlines.shift(step.session, step.matter, "handling", days, moves_off_holidays=step.moves_off_holidays)
    assert deadline is not None  # _within found it
    step.matter.extended = True
    step.issue("extension_notice", days=days, reason=reason,
               new_due=f"{deadline.due_day.year}年{deadline.due_day.month}月{deadline.due_day.day}日")
    return S.accepted


def route_legal(step: Step) -> MatterState:
    channel = step.params.get("channel")
    if channel not in LEGAL_CHANNEL_TEXT:
        raise Invalid("error.legal_channel_unknown", field="channel")
    step.reason()
    if step.matter.state is S.registered:
        _decided(step)
    deadlines.cancel(step.matter, "handling")
    step.matter.outcome = f"legal_channel:{channel}"
    return S.closed


def settle(step: Step) -> MatterState:
    kind = step.params.get("kind", "mediation")
    if kind not in ("mediation", "settlement"):  # 调解协议书 / 和解协议书
        raise Invalid("error.settlement_kind", field="kind")
    step.reason()
    deadlines.finish(step.matter, "handling", step.at)
    step.matter.replied_at = step.at
    step.matter.outcome = f"settled:{kind}"
    return S.closed


def _opinion(step: Step, kind: str, deadline_kind: str) -> None:
    outcome = step.params.get("outcome")
    if outcome not in REPLY_OUTCOMES:
        raise Invalid("error.reply_outcome", field="outcome")
    reason = step.reason()
    deadlines.finish(step.matter, deadline_kind, step.at)
    step.matter.outcome = outcome
    step.issue(kind, outcome=OUTCOME_TEXT[outcome], reason=reason,
               demands=[d.summary for d in step.matter.demands])


def reply(step: Step) -> MatterState:
    _opinion(step, "reply_opinion", "handling")
    step.matter.replied_at = step.at
    return S.replied


def review_reply(step: Step) -> MatterState:
    _opinion(step, "review_opinion", "review_decision")
    return S.review_replied


def recheck_reply(step: Step) -> MatterState:
    _opinion(step, "recheck_opinion", "recheck_decision")
    return S.recheck_replied


SERVE_NEXT = {S.replied: (S.served, "reply_opinion", "review_request"),
              S.review_replied: (S.review_served, "review_opinion", "recheck_request"),
              S.recheck_replied: (S.final, "recheck_opinion", None)}


def serve(step: Step) -> MatterState:
    target, kind, window = SERVE_NEXT[step.matter.state]
    document = step.session.scalars(
        select(Document).where(Document.matter_id == step.matter.id, Document.kind == kind,
                               Document.served_at.is_(None)).order_by(Document.id.desc())
    ).first()
    served_on = step.params.get("served_at")
    served_at = datetime.fromisoformat(served_on) if isinstance(served_on, str) else step.at
    if served_at.tzinfo is None or served_at > step.at or (document and served_at < document.issued_at):
        raise Invalid("error.served_at", field="served_at")
    if document is not None:
        documents.serve(step.session, document, actor_id=step.actor_id, at=served_at)
    if step.matter.state is S.replied:
        step.matter.served_at = served_at
    if window:
        step.open(window, served_at)
    if target is S.final:
        step.matter.closed_at = served_at
    return target


def request_review(step: Step) -> MatterState:
    _within(step, "review_request")
    deadlines.finish(step.matter, "review_request", step.at)
    step.matter.review_requested_at = step.at
    step.open("review_decision")
    return S.review_requested


def request_recheck(step: Step) -> MatterState:
    _within(step, "recheck_request")
    deadlines.finish(step.matter, "recheck_request", step.at)
    step.open("recheck_decision")
    return S.recheck_requested


def start_hearing(step: Step) -> MatterState:
    step.matter.hearing_started_at = step.at
    return S.hearing


def end_hearing(step: Step) -> MatterState:
    # Art. 36: hearing time does not count toward the second-review decision period.
    assert step.matter.hearing_started_at is not None  # set by start_hearing, the only way into a hearing
    days = (deadlines.local_day(step.at) - deadlines.local_day(step.matter.hearing_started_at)).days + 1
    step.matter.hearing_days += days
    step.matter.hearing_started_at = None
    deadlines.shift(step.session, step.matter, "recheck_decision", days, moves_off_holidays=step.moves_off_holidays)
    return S.recheck_requested


def close(step: Step) -> MatterState:
    window = "review_request" if step.matter.state is S.served else "recheck_request"
    deadline = deadlines.current(step.matter, window)
    if deadline is not None and deadline.state is DeadlineState.open and not deadlines.is_past(deadline, step.at):
        raise IllegalTransition("error.window_still_open", due=str(deadline.due_day))
    if deadline is not None and deadline.state is DeadlineState.open:
        deadline.state = DeadlineState.met  # nobody asked in time: nothing was owed
        deadline.done_at = step.at
    step.matter.closed_at = step.at
    return S.closed


def set_owner(step: Step) -> MatterState:
    leader_id = step.params.get("leader_id")
    leader = step.session.get(Person, leader_id) if isinstance(leader_id, int) else None
    if leader is None or not any(a.role is Role.leader for a in leader.roles):
        raise Invalid("error.owner_not_leader", field="leader_id")
    step.matter.owner_leader_id = leader.id
    step.params["leader_name"] = leader.name
    return step.matter.state


OPEN_STATES = {S.registered, S.assigned, S.accepted, S.replied, S.served, S.review_requested, S.review_replied,
               S.review_served, S.recheck_requested, S.hearing, S.recheck_replied}

ACTIONS: dict[str, tuple[set[MatterState], Callable[[Step], MatterState]]] = {
    "accept": ({S.registered}, accept),
    "not_accept": ({S.registered}, not_accept),
    "refuse_repeat": ({S.registered}, refuse_repeat),
    "transfer": ({S.registered}, transfer),
    "assign": ({S.registered}, assign),
    "report_completion": ({S.assigned}, report_completion),
    "object_remit": ({S.registered}, object_remit),
    "extend": ({S.accepted}, extend),
    "route_legal": ({S.registered, S.accepted}, route_legal),
    "settle": ({S.accepted}, settle),
    "reply": ({S.accepted}, reply),
    "serve": (set(SERVE_NEXT), serve),
    "request_review": ({S.served}, request_review),
    "review_reply": ({S.review_requested}, review_reply),
    "request_recheck": ({S.review_served}, request_recheck),
    "recheck_reply": ({S.recheck_requested}, recheck_reply),
    "close": ({S.served, S.review_served}, close),
    "set_owner": (OPEN_STATES, set_owner),
}
# Moved by the hearing session's actual start and end (vreception.hearings.clock), never by hand.
HEARING_ACTIONS: dict[str, tuple[set[MatterState], Callable[[Step], MatterState]]] = {
    "start_hearing": ({S.recheck_requested}, start_hearing),
    "end_hearing": ({S.hearing}, end_hearing),
}
# The deadline each action starts, shown on the action buttons.
STARTS = {"accept": "handling", "serve": "review_request", "request_review": "review_decision",
          "request_recheck": "recheck_decision"}


def allowed(matter: Matter) -> list[str]:
    """The actions MATTER's state allows now."""
    return [name for name, (states, _) in ACTIONS.items() if matter.state in states]


def act(session: Session, *, matter: Matter, action: str, actor_id: int | None, params: dict[str, Any] | None = None,
        moves_off_holidays: bool = True) -> Matter:
    """Carry out ACTION on MATTER, or raise IllegalTransition / WindowClosed / Invalid having written nothing."""
    if action not in ACTIONS:
        raise Invalid("error.action_unknown", field="action", action=action)
    return _run(session, ACTIONS, matter=matter, action=action, actor_id=actor_id, at=now(), params=params,
                moves_off_holidays=moves_off_holidays)


def act_by_hearing(session: Session, *, matter: Matter, action: str, at: datetime,
                   moves_off_holidays: bool = True) -> Matter:
    """Start or end the matter's hearing (HEARING_ACTIONS) at the hearing session's actual start or end."""
    return _run(session, HEARING_ACTIONS, matter=matter, action=action, actor_id=None, at=at, params=None,
                moves_off_holidays=moves_off_holidays)


def _run(session: Session, table: dict[str, tuple[set[MatterState], Callable[[Step], MatterState]]], *,
         matter: Matter, action: str, actor_id: int | None, at: datetime, params: dict[str, Any] | None,
         moves_off_holidays: bool) -> Matter:
    states, handler = table[action]
    if matter.state not in states:
        raise IllegalTransition("error.illegal_transition", action=Msg(f"action.{action}"),
                                state=Msg(f"state.{matter.state.value}"))
    step = Step(session, matter, actor_id, at, dict(params or {}), moves_off_holidays)
    before = matter.state
    after = handler(step)
    matter.state = after
    reason = str(step.params.get("reason") or "")[:MAX_REASON]
    data = {k: v for k, v in step.params.items() if k != "reason"}
    session.add(MatterEvent(matter_id=matter.id, at=step.at, actor_id=actor_id, action=action, from_state=before.value,
                            to_state=after.value, reason=reason, data=json.dumps(data, ensure_ascii=False, default=str)))
    session.flush()
    audit.record(session, action=f"matter.{action}", entity_type="matter", entity_id=matter.id, actor_id=actor_id,
                 data={"from": before.value, "to": after.value, "reason": reason, **data})
    return matter


def lock(session: Session, matter_id: int) -> Matter:
    """Load a matter for changing it (row-locked on PostgreSQL, so two actions cannot interleave)."""
    matter = session.scalars(select(Matter).where(Matter.id == matter_id).with_for_update()).first()
    if matter is None:
        raise NotFound("error.matter_not_found", field="matter_id", id=matter_id)
    return matter
