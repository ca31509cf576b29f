"""The life of a matter as actions: who may move it from which state, within which window."""

from __future__ import annotations

import base64
import binascii
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
from vreception.integration import record as integration
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
from vreception.sms import hooks as sms_hooks

S = MatterState
REPLY_OUTCOMES = ("support", "explain", "not_support")  # 支持 / 解释说明 / 不予支持
OUTCOME_TEXT = {"support": "支持", "explain": "解释说明", "not_support": "不予支持"}
LEGAL_CHANNEL_TEXT = {"litigation": "诉讼", "arbitration": "仲裁", "administrative_review": "行政复议"}
MAX_REASON = 4000
MAX_ASSIGNMENT_DAYS = 60  # a 交办 deadline cannot outlast the handling period


@dataclass
class Step:
    """What an action needs: the database, the matter, who acts, when, and the clock settings."""

    db: Session
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

    def open(self, kind: str, start: datetime | None = None, days: int | None = None) -> Deadline:
        return deadlines.open_deadline(self.matter, kind, start or self.at, db=self.db,
                                       moves_off_holidays=self.moves_off_holidays, days=days)

    def issue(self, kind: str, issuer: Node | None = None, **context: Any) -> Document:
        return documents.issue(db=self.db, matter=self.matter, kind=kind, actor_id=self.actor_id,
                               addressee=addressee(self.matter), issuer=issuer, **context)

    def text(self, name: str) -> str:
        value = str(self.params.get(name) or "").strip()
        if len(value) > MAX_REASON:
            raise Invalid("error.reason_too_long", field=name, max=MAX_REASON)
        return value

    def moment(self, name: str, *, not_before: datetime | None = None) -> datetime:
        """The moment given as NAME (ISO 8601 with offset; default now): not in the future, not before NOT_BEFORE."""
        given = self.params.get(name)
        if given is None:
            return self.at
        try:
            moment = datetime.fromisoformat(given) if isinstance(given, str) else None
        except ValueError:
            moment = None
        if (moment is None or moment.tzinfo is None or moment > self.at
                or (not_before is not None and moment < not_before)):
            raise Invalid(f"error.{name}", field=name)
        return moment


def addressee(matter: Matter) -> str:
    """The petitioner(s) a notice is addressed to; a group by its representatives."""
    links = [link for link in matter.petitioner_links if link.representative] or matter.petitioner_links
    names = "、".join(link.petitioner.name for link in links[:5])
    return names + ("等" if len(matter.petitioner_links) > len(links[:5]) else "")


def node_of(node_id: int, *, db: Session) -> Node:
    """A node by its id (a foreign key of the matter)."""
    node = db.get(Node, node_id)
    assert node is not None  # a foreign key
    return node


def holding_node(matter: Matter, *, db: Session) -> Node:
    """The body holding the matter now: the 复查 or 复核 body while it reviews, else the handling body."""
    return node_of(matter.holding_node_id or matter.handling_node_id, db=db)


def body_above(node: Node, *, db: Session) -> Node | None:
    """The body one level up (上一级机关) of NODE, if any."""
    return db.get(Node, node.parent_id) if node.parent_id is not None else None


def _within(step: Step, kind: str, at: datetime | None = None) -> None:
    deadline = deadlines.current(step.matter, kind)
    if deadline is None or deadlines.is_past(deadline, at or step.at):
        raise WindowClosed(f"error.window_{kind}", due=str(deadline.due_day) if deadline else "")


def _repeat_of_final(step: Step) -> Matter | None:
    for earlier_id in step.db.scalars(select(RepeatLink.earlier_id).where(RepeatLink.matter_id == step.matter.id)):
        earlier = step.db.get(Matter, earlier_id)
        assert earlier is not None  # a foreign key of the link
        if earlier.state is S.final:
            return earlier
    return None


def _decided(step: Step) -> None:
    step.matter.decided_at = step.at
    deadlines.finish(step.matter, "acceptance", step.at)
    deadlines.cancel(step.matter, "remit_objection")


def accept(step: Step) -> MatterState:
    if step.matter.possible_repeat:
        # Similar text only warns: whoever accepts a flagged matter says why it is a new matter.
        step.reason()
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
    # Art. 36: a person decides that the facts and reasons are the same, and says why.
    reason = step.reason()
    _decided(step)
    step.issue("repeat_refusal", reason=reason, earlier_number=earlier.number)
    step.matter.outcome = "not_reaccepted"
    return S.closed


def _target_node(step: Step) -> Node:
    node_id = step.params.get("to_node_id")
    node = step.db.get(Node, node_id) if isinstance(node_id, int) else None
    if node is None:
        raise NotFound("error.node_not_found", field="to_node_id", id=node_id)
    return node


def _hand_over(step: Step, node: Node) -> None:
    # Arts. 22, 23: the receiving body starts its own acceptance and objection clocks from the hand-over.
    matter = step.matter
    if node.id == matter.handling_node_id:
        raise Invalid("error.hand_over_to_self", field="to_node_id")
    if matter.hidden_from_path and node.path.startswith(matter.hidden_from_path):
        # An accusation never goes to the unit it accuses, nor to anyone inside it.
        raise Invalid("error.hand_over_to_accused", field="to_node_id")
    deadlines.finish(matter, "acceptance", step.at)
    deadlines.cancel(matter, "remit_objection")
    matter.transferred_from_node_id, matter.transferred_at = matter.handling_node_id, step.at
    matter.handling_node_id, matter.handling_path = node.id, node.path
    step.params["to_node_name"] = node.name
    step.open("acceptance")
    step.open("remit_objection")


def transfer(step: Step) -> MatterState:
    node = _target_node(step)
    reason = step.reason()
    step.issue("transfer_notice", to_node_name=node.name, reason=reason)
    _hand_over(step, node)
    return S.registered


def assign(step: Step) -> MatterState:
    node = _target_node(step)
    days = step.params.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_ASSIGNMENT_DAYS:
        raise Invalid("error.assignment_days", field="days", max=MAX_ASSIGNMENT_DAYS)
    reason = step.reason(required=False)
    office = node_of(step.matter.handling_node_id, db=step.db)
    _hand_over(step, node)
    deadline = step.open("completion", days=days)
    step.issue("assignment_letter", issuer=office, to_node_name=node.name, days=days, reason=reason,
               due=_chinese_day(deadline))
    return S.assigned


def report_completion(step: Step) -> MatterState:
    report = step.reason()
    deadlines.finish(step.matter, "acceptance", step.at)
    deadlines.cancel(step.matter, "remit_objection")
    deadlines.finish(step.matter, "completion", step.at)
    step.issue("completion_report", reason=report)
    return S.completion_reported


def verify_completion(step: Step) -> MatterState:
    step.reason(required=False)
    step.matter.decided_at = step.matter.decided_at or step.at
    step.matter.outcome = "assigned_done"
    step.matter.closed_at = step.at
    return S.closed


def return_completion(step: Step) -> MatterState:
    step.reason()
    days = step.params.get("days")
    # A report sent back did not complete the assignment: its period runs on, or the office sets a new day.
    reported = deadlines.current(step.matter, "completion")
    if days is not None:
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_ASSIGNMENT_DAYS:
            raise Invalid("error.assignment_days", field="days", max=MAX_ASSIGNMENT_DAYS)
        if reported is not None and reported.state is DeadlineState.met:
            reported.state = DeadlineState.cancelled  # replaced by the new day; a period already missed stays missed
        step.open("completion", days=days)
    elif reported is not None:
        reported.state, reported.done_at = DeadlineState.open, None
    return S.assigned


def object_remit(step: Step) -> MatterState:
    if step.matter.transferred_from_node_id is None:
        # Only a body that received the matter by 转送 or 交办 objects to it (Art. 23).
        raise WindowClosed("error.window_remit_objection", due="")
    _within(step, "remit_objection")
    step.reason()
    deadlines.finish(step.matter, "remit_objection", step.at)
    deadlines.cancel(step.matter, "acceptance")
    deadlines.cancel(step.matter, "completion")
    back = node_of(step.matter.transferred_from_node_id, db=step.db)
    step.params["to_node_name"] = back.name
    # Back to the transferring office, which checks (核实) and decides again.
    step.matter.handling_node_id, step.matter.handling_path = back.id, back.path
    step.matter.transferred_from_node_id = step.matter.transferred_at = None
    step.open("acceptance")
    return S.registered


def _chinese_day(deadline: Deadline) -> str:
    return f"{deadline.due_day.year}年{deadline.due_day.month}月{deadline.due_day.day}日"


def _unit_head(step: Step) -> Person:
    # Art. 34: the head (负责人) of the handling unit approves: a leader of that very node.
    leader_id = step.params.get("approved_by")
    leader = step.db.get(Person, leader_id) if isinstance(leader_id, int) else None
    if leader is None or not any(a.role is Role.leader and a.node_id == step.matter.handling_node_id
                                 for a in leader.roles):
        raise Invalid("error.extension_approver", field="approved_by")
    return leader


def extend(step: Step) -> MatterState:
    _within(step, "handling")
    current = deadlines.current(step.matter, "handling")
    assert current is not None  # _within found it
    left = deadlines.MAX_EXTENSION_DAYS - current.extra_days
    if left <= 0:
        raise WindowClosed("error.window_extension_used", max=deadlines.MAX_EXTENSION_DAYS)
    days = step.params.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= left:
        raise Invalid("error.extension_days", field="days", max=left)
    approver = _unit_head(step)
    reason = step.reason()
    deadline = deadlines.shift(step.matter, "handling", days, db=step.db, moves_off_holidays=step.moves_off_holidays)
    assert deadline is not None  # _within found it
    step.matter.extended = True
    step.params["approver_name"] = approver.name
    step.issue("extension_notice", days=days, reason=reason, approver=approver.name,
               approver_title=approver.title, new_due=_chinese_day(deadline))
    return S.accepted


def route_legal(step: Step) -> MatterState:
    channel = step.params.get("channel")
    if channel not in LEGAL_CHANNEL_TEXT:
        raise Invalid("error.legal_channel_unknown", field="channel")
    reason = step.reason()
    if step.matter.state is S.registered:
        _decided(step)
    deadlines.cancel(step.matter, "handling")
    step.issue("legal_channel_notice", channel=LEGAL_CHANNEL_TEXT[channel], reason=reason)
    step.matter.outcome = f"legal_channel:{channel}"
    return S.closed


def settle(step: Step) -> MatterState:
    kind = step.params.get("kind", "mediation")
    if kind not in ("mediation", "settlement"):  # 调解协议书 / 和解协议书
        raise Invalid("error.settlement_kind", field="kind")
    terms = step.reason()
    deadlines.finish(step.matter, "handling", step.at)
    step.issue(f"{kind}_agreement", reason=terms)
    step.matter.replied_at = step.at
    step.matter.outcome = f"settled:{kind}"
    return S.closed


def _outcomes(step: Step) -> dict[int, str]:
    # 分诉求登记: each demand gets its own outcome; one "outcome" stands for all when they agree.
    given = step.params.get("outcomes")
    common = step.params.get("outcome")
    found: dict[int, str] = {}
    for demand in step.matter.demands:
        outcome = given.get(str(demand.id), common) if isinstance(given, dict) else common
        if outcome not in REPLY_OUTCOMES:
            raise Invalid("error.reply_outcome", field="outcomes", demand=demand.position + 1)
        found[demand.id] = str(outcome)
    return found


def _opinion(step: Step, kind: str, deadline_kind: str, issuer: Node) -> None:
    outcomes = _outcomes(step)
    reason = step.reason()
    facts, basis = step.text("facts"), step.text("basis")
    deadlines.finish(step.matter, deadline_kind, step.at)
    for demand in step.matter.demands:
        demand.outcome = outcomes[demand.id]
    distinct = set(outcomes.values())
    step.matter.outcome = distinct.pop() if len(distinct) == 1 else "mixed"
    step.params["outcomes"] = {str(k): v for k, v in outcomes.items()}
    above = body_above(issuer, db=step.db)
    step.issue(kind, issuer=issuer, reason=reason, facts=facts, basis=basis,
               outcome=OUTCOME_TEXT.get(step.matter.outcome, "分别处理"),
               demands=[(d.summary, OUTCOME_TEXT[outcomes[d.id]]) for d in step.matter.demands],
               next_body=above.name if above else "",
               next_days=deadlines.RULES["review_request"].days)


def reply(step: Step) -> MatterState:
    _opinion(step, "reply_opinion", "handling", node_of(step.matter.handling_node_id, db=step.db))
    step.matter.replied_at = step.at
    return S.replied


def review_reply(step: Step) -> MatterState:
    _opinion(step, "review_opinion", "review_decision", holding_node(step.matter, db=step.db))
    return S.review_replied


def recheck_reply(step: Step) -> MatterState:
    _opinion(step, "recheck_opinion", "recheck_decision", holding_node(step.matter, db=step.db))
    return S.recheck_replied


SERVE_NEXT = {S.replied: (S.served, "reply_opinion", "review_request"),
              S.review_replied: (S.review_served, "review_opinion", "recheck_request"),
              S.recheck_replied: (S.final, "recheck_opinion", None)}
SERVE_KINDS = {kind for _, kind, _ in SERVE_NEXT.values()}


def _proof(step: Step) -> bytes | None:
    given = step.params.pop("proof", None)
    if given is None:
        return None
    try:
        # Base64 of at most MAX_PROOF_BYTES: a longer text is refused before it is decoded.
        if not isinstance(given, str) or len(given) > documents.MAX_PROOF_BYTES * 4 // 3 + 4:
            raise ValueError
        return base64.b64decode(given, validate=True)
    except (ValueError, binascii.Error):
        raise Invalid("error.proof_type", field="proof") from None


def _serve_document(step: Step, document: Document | None) -> datetime:
    """Serve DOCUMENT (送达) as the step says: method, date, proof of service; returns the date."""
    served_at = step.moment("served_at", not_before=document.issued_at if document else None)
    proof = _proof(step)
    if document is not None:
        documents.serve(document, db=step.db, actor_id=step.actor_id, at=served_at,
                        method=str(step.params.get("method") or "direct"), proof=proof,
                        proof_source=step.params.get("proof_source"))
        step.params["document_id"] = document.id
        sms_hooks.served(db=step.db, matter=step.matter, document=document, actor_id=step.actor_id)
    return served_at


def serve_notice(step: Step) -> MatterState:
    document_id = step.params.get("document_id")
    document = step.db.get(Document, document_id) if isinstance(document_id, int) else None
    if document is None or document.matter_id != step.matter.id:
        raise NotFound("error.document_not_found", field="document_id", id=document_id)
    if document.kind not in documents.SERVED_KINDS or document.kind in SERVE_KINDS:
        # The opinions are served by "serve", which moves the matter on.
        raise Invalid("error.document_not_servable", field="document_id")
    _serve_document(step, document)
    return step.matter.state


def serve(step: Step) -> MatterState:
    target, kind, window = SERVE_NEXT[step.matter.state]
    document = step.db.scalars(
        select(Document).where(Document.matter_id == step.matter.id, Document.kind == kind,
                               Document.served_at.is_(None)).order_by(Document.id.desc())
    ).first()
    served_at = _serve_document(step, document)
    if step.matter.state is S.replied:
        step.matter.served_at = served_at
    if window:
        step.open(window, served_at)
    if target is S.final:
        step.matter.closed_at = served_at
    return target


def _to_body_above(step: Step, window: str) -> datetime:
    # Arts. 35, 36: the request goes to the body one level up; a request that came in time may be recorded later.
    requested_at = step.moment("requested_at", not_before=step.matter.served_at)
    _within(step, window, requested_at)
    above = body_above(holding_node(step.matter, db=step.db), db=step.db)
    if above is None:
        raise Invalid("error.no_body_above", field="action")
    deadlines.finish(step.matter, window, requested_at)
    step.matter.holding_node_id = above.id
    step.params["to_node_name"] = above.name
    step.params["requested_at"] = requested_at.isoformat()
    return requested_at


def request_review(step: Step) -> MatterState:
    requested_at = _to_body_above(step, "review_request")
    step.matter.review_requested_at = requested_at
    step.open("review_decision", requested_at)
    return S.review_requested


def request_recheck(step: Step) -> MatterState:
    requested_at = _to_body_above(step, "recheck_request")
    step.open("recheck_decision", requested_at)
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
    deadlines.shift(step.matter, "recheck_decision", days, db=step.db, moves_off_holidays=step.moves_off_holidays)
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
    leader = step.db.get(Person, leader_id) if isinstance(leader_id, int) else None
    if leader is None or not any(a.role is Role.leader for a in leader.roles):
        raise Invalid("error.owner_not_leader", field="leader_id")
    step.matter.owner_leader_id = leader.id
    step.params["leader_name"] = leader.name
    return step.matter.state


OPEN_STATES = {S.registered, S.assigned, S.completion_reported, S.accepted, S.replied, S.served, S.review_requested, S.review_replied,
               S.review_served, S.recheck_requested, S.hearing, S.recheck_replied}

ACTIONS: dict[str, tuple[set[MatterState], Callable[[Step], MatterState]]] = {
    "accept": ({S.registered}, accept),
    "not_accept": ({S.registered}, not_accept),
    "refuse_repeat": ({S.registered}, refuse_repeat),
    "transfer": ({S.registered}, transfer),
    "assign": ({S.registered}, assign),
    "report_completion": ({S.assigned}, report_completion),
    "verify_completion": ({S.completion_reported}, verify_completion),
    "return_completion": ({S.completion_reported}, return_completion),
    "object_remit": ({S.registered, S.assigned}, object_remit),
    "extend": ({S.accepted}, extend),
    "route_legal": ({S.registered, S.accepted}, route_legal),
    "settle": ({S.accepted}, settle),
    "reply": ({S.accepted}, reply),
    "serve": (set(SERVE_NEXT), serve),
    "serve_notice": (set(MatterState), serve_notice),
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
          "request_recheck": "recheck_decision", "transfer": "acceptance", "assign": "completion"}


def allowed(matter: Matter) -> list[str]:
    """The actions MATTER's state allows now (an objection only from a body the matter was handed over to)."""
    return [name for name, (states, _) in ACTIONS.items() if matter.state in states
            and (name != "object_remit" or matter.transferred_from_node_id is not None)]


def act(*, db: Session, matter: Matter, action: str, actor_id: int | None, params: dict[str, Any] | None = None,
        moves_off_holidays: bool = True) -> Matter:
    """Carry out ACTION on MATTER, or raise IllegalTransition / WindowClosed / Invalid having written nothing."""
    if action not in ACTIONS:
        raise Invalid("error.action_unknown", field="action", action=action)
    return _run(ACTIONS, db=db, matter=matter, action=action, actor_id=actor_id, at=now(), params=params,
                moves_off_holidays=moves_off_holidays)


def act_by_hearing(*, db: Session, matter: Matter, action: str, at: datetime,
                   moves_off_holidays: bool = True) -> Matter:
    """Start or end the matter's hearing (HEARING_ACTIONS) at the hearing session's actual start or end."""
    return _run(HEARING_ACTIONS, db=db, matter=matter, action=action, actor_id=None, at=at, params=None,
                moves_off_holidays=moves_off_holidays)


def _run(table: dict[str, tuple[set[MatterState], Callable[[Step], MatterState]]], *, db: Session,
         matter: Matter, action: str, actor_id: int | None, at: datetime, params: dict[str, Any] | None,
         moves_off_holidays: bool) -> Matter:
    states, handler = table[action]
    if matter.state not in states:
        raise IllegalTransition("error.illegal_transition", action=Msg(f"action.{action}"),
                                state=Msg(f"state.{matter.state.value}"))
    step = Step(db, matter, actor_id, at, dict(params or {}), moves_off_holidays)
    before = matter.state
    after = handler(step)
    matter.state = after
    reason = str(step.params.get("reason") or "")[:MAX_REASON]
    data = {k: v for k, v in step.params.items() if k != "reason"}
    db.add(MatterEvent(matter_id=matter.id, at=step.at, actor_id=actor_id, action=action, from_state=before.value,
                            to_state=after.value, reason=reason, data=json.dumps(data, ensure_ascii=False, default=str)))
    db.flush()
    audit.record(db=db, action=f"matter.{action}", entity_type="matter", entity_id=matter.id, actor_id=actor_id,
                 data={"from": before.value, "to": after.value, "reason": reason, **data})
    integration.matter_changed(db=db, matter=matter, action=action, before=before, at=step.at,
                               unit=step.params.get("to_node_name"))
    return matter


def lock(matter_id: int, *, db: Session) -> Matter:
    """Load a matter for changing it (row-locked on PostgreSQL, so two actions cannot interleave)."""
    matter = db.scalars(select(Matter).where(Matter.id == matter_id).with_for_update()).first()
    if matter is None:
        raise NotFound("error.matter_not_found", field="matter_id", id=matter_id)
    return matter
