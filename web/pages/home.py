"""The signed-in landing page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from vreception.models import Node
from web.deps import DbSession, PagePrincipal
from web.templating import render

router = APIRouter()


@router.get("/")
def home(request: Request, principal: PagePrincipal, session: DbSession):
    """Where a signed-in person starts; a signed-out visitor goes to /login."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    node = session.get(Node, principal.node_id)
    scopes = [(s.role.value, session.get(Node, s.node_id)) for s in principal.scopes]
    return render(request, "home.html", principal=principal, node=node, scopes=scopes)
