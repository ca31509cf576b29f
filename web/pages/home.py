"""The signed-in landing page: each role goes to its main page; others see their roles."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from vreception.org.queries import nodes_by_id
from web.deps import DbSession, PagePrincipal
from web.pages.support import home_of, page

router = APIRouter()


@router.get("/")
def home(request: Request, principal: PagePrincipal, db: DbSession):
    """Coordinator → dashboard, leader → agenda, room → kiosk, handler → tasks; a signed-out visitor → /login."""
    if principal is None:
        return RedirectResponse("/login", status_code=303)
    target = home_of(principal)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    nodes = nodes_by_id({principal.node_id, *(s.node_id for s in principal.scopes)}, db=db)
    scopes = [(s.role.value, nodes.get(s.node_id)) for s in principal.scopes]
    return page(request, "home.html", principal, node=nodes.get(principal.node_id), scopes=scopes)
