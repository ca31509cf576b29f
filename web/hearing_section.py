"""The matter page's hearing section (听证): the read model (vreception.hearings.queries.matter_hearings), the catalog
keys its template shows, and each form step's flash carried back in the URL."""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from fastapi import Request

from vreception.auth.access import Principal
from vreception.hearings import queries
from vreception.models import Matter

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


def section(request: Request, principal: Principal, matter: Matter, *, db) -> dict:
    """The matter page's hearing context: the read model, the catalog keys of its values, the flash."""
    return {"hearings": queries.matter_hearings(principal, matter, db=db), "hearing_stages": STAGES,
            "hearing_closed": CLOSED, "hearing_documents": DOCUMENTS, **flash(request)}
