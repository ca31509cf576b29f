"""The matter page's hearing section (听证): the newest hearing's view, the office's choices, and each step's flash."""

from __future__ import annotations

import hmac
from collections import defaultdict
from urllib.parse import urlencode

from fastapi import Request

from vreception.auth.access import Principal
from vreception.errors import Forbidden
from vreception.hearings import access, procedure, queries, recusals
from vreception.models import Matter, Node, Role
from vreception.org.queries import bookable_rooms, leaders_in, node, people_by_id
from vreception.people import list_people

# The step a form took → its flash message (a fixed set: the URL names the step, never the text).
DONE = {
    "proposed": "hearing.page.done.proposed", "decided": "hearing.page.done.decided",
    "appointed": "hearing.page.done.appointed", "panel": "hearing.page.done.panel",
    "publicity": "hearing.page.done.publicity", "booked": "hearing.page.done.booked",
    "recusal": "hearing.page.done.recusal", "recusal_decided": "hearing.page.done.recusal_decided",
    "concluded": "hearing.page.done.concluded", "published": "hearing.page.done.published",
}
STAGES = {"handling": "hearing.page.stage.handling", "recheck": "hearing.page.stage.recheck"}
CLOSED = {"state_secret": "hearing.page.closed.state_secret", "trade_secret": "hearing.page.closed.trade_secret",
          "privacy": "hearing.page.closed.privacy"}
DOCUMENTS = {"hearing_decision": "hearing.page.document.hearing_decision",
             "hearing_refusal": "hearing.page.document.hearing_refusal",
             "hearing_notice": "hearing.page.document.hearing_notice",
             "hearing_conclusion": "hearing.page.document.hearing_conclusion"}
DONE_PARAM, ERROR_PARAM, SIGNATURE_PARAM = "hearing_done", "hearing_error", "hearing_sig"
MAX_ERROR = 500


def _signature(request: Request, text: str) -> str:
    # The error text travels in the URL: signed, so no link can put words of its own on the matter page.
    return hmac.new(request.app.state.secret.encode(), f"hearing-flash:{text}".encode(), "sha256").hexdigest()[:32]


def back(request: Request, matter_id: int, *, done: str | None = None, error: str | None = None) -> str:
    """The matter page's hearing section, with the step done or the error met."""
    if error is not None:
        text = error[:MAX_ERROR]
        query = {ERROR_PARAM: text, SIGNATURE_PARAM: _signature(request, text)}
    else:
        query = {DONE_PARAM: done} if done in DONE else {}
    return f"/matters/{matter_id}" + (f"?{urlencode(query)}" if query else "") + "#hearing"


def flash(request: Request) -> dict:
    """The step done (its catalog key) or the error met (its text, when the signature holds)."""
    done = request.query_params.get(DONE_PARAM)
    error = (request.query_params.get(ERROR_PARAM) or "")[:MAX_ERROR]
    signed = bool(error) and hmac.compare_digest(request.query_params.get(SIGNATURE_PARAM) or "",
                                                 _signature(request, error))
    return {"hearing_done": DONE.get(done or ""), "hearing_error": error if signed else None}


def _choices(db, principal: Principal, hearing) -> dict:
    """What the office picks from: leaders and staff of the hearing's office, rooms, the roster and its members' time."""
    office = node(db, hearing.node_id)
    path = office.path if office is not None else "/"
    within = Node.path.startswith(path)
    roster = queries.roster_of(db, hearing.node_id)
    busy: dict[int, list] = defaultdict(list)
    for item in queries.busy(db, [r.person.id for r in roster], besides=hearing.id):
        busy[item.person_id].append(item)
    return {
        "hearing_leaders": [p for p in leaders_in(db, principal) if p.node.path.startswith(path)],
        "hearing_staff": [p for p in list_people(db, node_id=hearing.node_id)
                          if any(a.role is not Role.room for a in p.roles)],
        "hearing_handlers": list_people(db, role=Role.handler.value, within=within),
        "hearing_rooms": bookable_rooms(db, principal),
        "hearing_roster": roster, "hearing_busy": busy,
    }


def _decides(db, principal: Principal, hearing, recusal) -> bool:
    """Whether the principal decides RECUSAL (the chair; the office when it is against the chair)."""
    try:
        access.require_recusal_decider(db, principal, hearing, recusal)
    except Forbidden:
        return False
    return True


def section(request: Request, db, principal: Principal, matter: Matter, office: bool) -> dict:
    """The matter page's hearing context: the newest hearing, what the office may do next, the flash."""
    found = procedure.of_matter(db, matter.id)
    hearing = found[0] if found else None
    out: dict = {"hearing": queries.hearing_out(db, hearing) if hearing is not None else None,
                 "hearing_office": office, "hearing_stages": STAGES, "hearing_closed": CLOSED,
                 "hearing_documents": DOCUMENTS, "hearing_targets": {}, "hearing_chair": False,
                 "hearing_deciders": set(),
                 "hearing_can_propose": office and matter.state in procedure.STAGES
                 and (hearing is None or hearing.state in procedure.OVER), **flash(request)}
    if hearing is None or hearing.state in procedure.OVER:
        return out
    out["hearing_chair"] = principal.person_id == hearing.chair_id
    out["hearing_deciders"] = {r.id for r in hearing.recusals
                               if r.granted is None and _decides(db, principal, hearing, r)}
    out["hearing_targets"] = {p.id: p.name for p in people_by_id(db, recusals.challenged(hearing)).values()}
    if office:
        out.update(_choices(db, principal, hearing))
    return out
