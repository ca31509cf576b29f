"""What every page module shares: the sign-in gate, role gates, CSRF on forms, local times, rendering."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from scheduling.policy import Policy
from vreception.auth.access import Principal
from vreception.cases import public
from vreception.clock import now
from vreception.errors import DomainError, Forbidden
from vreception.i18n import translate
from vreception.models import Matter, Role
from web import csrf
from web.deps import PagePrincipal, language
from web.settings import app_policy, client_address
from web.templating import render

# Where each role starts, in order of precedence for people holding several roles.
HOME_BY_ROLE = ((Role.coordinator, "/dashboard"), (Role.leader, "/agenda"), (Role.room, "/kiosk"),
                (Role.handler, "/tasks"), (Role.admin, "/admin/org"))
NAV = {
    Role.coordinator: (("/dashboard", "pages.nav.dashboard"), ("/matters", "pages.nav.matters"),
                       ("/matters/new", "pages.nav.register"), ("/online-requests", "online.nav.requests"),
                       ("/tasks", "pages.nav.tasks"),
                       ("/leader-plans", "pages.nav.plans"),
                       ("/hearing-roster", "hearing.roster.title"), ("/statistics", "pages.nav.statistics"),
                       ("/network", "pages.nav.network"), ("/admin/rooms", "pages.nav.admin_rooms"),
                       ("/admin/audit", "pages.nav.admin_audit")),
    Role.leader: (("/agenda", "pages.nav.agenda"), ("/matters", "pages.nav.matters"),
                  ("/leader-plans", "pages.nav.plans"), ("/statistics", "pages.nav.statistics")),
    Role.handler: (("/tasks", "pages.nav.tasks"),),
    Role.room: (("/kiosk", "pages.nav.kiosk"), ("/self-test", "pages.nav.self_test")),
    Role.hearing_member: (("/my-hearings", "records.nav.my_hearings"),),
    Role.admin: (("/admin/org", "pages.nav.admin_org"), ("/admin/rooms", "pages.nav.admin_rooms"),
                 ("/admin/people", "pages.nav.admin_people"), ("/admin/audit", "pages.nav.admin_audit"),
                 ("/matters", "pages.nav.matters"), ("/statistics", "pages.nav.statistics"),
                 ("/network", "pages.nav.network")),
}


def signed_in(principal: PagePrincipal) -> Principal:
    """The signed-in person; a signed-out visitor is sent to /login (303)."""
    if principal is None:
        raise HTTPException(303, headers={"Location": "/login"})
    return principal


User = Annotated[Principal, Depends(signed_in)]


def require_any(principal: Principal, *roles: Role) -> None:
    """Forbidden unless the person holds one of ROLES somewhere (admins count as every role)."""
    if not principal.paths_for(roles):
        raise Forbidden()


def has(principal: Principal, role: Role) -> bool:
    """Whether the person holds ROLE itself (not through admin)."""
    return any(s.role is role for s in principal.scopes)


def home_of(principal: Principal) -> str | None:
    """The main page of the person's first role, or None for roles without one."""
    return next((url for role, url in HOME_BY_ROLE if has(principal, role)), None)


def nav_for(principal: Principal | None) -> list[tuple[str, str]]:
    """The navigation links of the person's roles, without repeats."""
    links: dict[str, str] = {}
    for role, items in NAV.items():
        if principal is not None and has(principal, role):
            links.update(dict(items))
    return list(links.items())


def check_csrf(request: Request, field: str | None) -> None:
    """The form's token, or for htmx the X-CSRF-Token header, must match this browser."""
    csrf.check(request, field or request.headers.get("x-csrf-token"))


def policy(request: Request) -> Policy:
    """The scheduling policy the app factory built from its settings."""
    return app_policy(request)


def zone(request: Request):
    return app_policy(request).zone


def find_matter(request: Request, number: str, code: str, *, db) -> Matter:
    """The matter of a petitioner's number and query code, with the API's failure count and limit."""
    return public.find_matter(db=db, protector=request.app.state.protector, failures=request.app.state.lookup_failures,
                              number=number, code=code, client=client_address(request))


def message(request: Request, error: DomainError) -> str:
    """A domain error as the user reads it."""
    return translate(error.message_key, language(request), **error.params)


def today(request: Request) -> date:
    return now().astimezone(zone(request)).date()


def week_bounds(request: Request, day: date | None = None) -> tuple[date, date]:
    """Monday and Sunday of DAY's week (this week by default)."""
    day = day or today(request)
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


class Times:
    """Formats UTC instants in the display time zone for templates."""

    def __init__(self, tz):
        self.tz = tz

    def hm(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%H:%M") if moment else ""

    def day(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d") if moment else ""

    def full(self, moment: datetime | None) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    def iso(self, text: str | None) -> str:
        """An ISO 8601 instant (as the API views give it) as local date and time."""
        return self.full(datetime.fromisoformat(text)) if text else ""

    def weekday(self, moment: datetime) -> int:
        return moment.astimezone(self.tz).weekday()


def page(request: Request, name: str, principal: Principal | None, status_code: int = 200, **context):
    """Render a page of this app with the navigation and time helpers."""
    return render(request, name, status_code=status_code, principal=principal, nav=nav_for(principal),
                  times=Times(zone(request)), path=request.url.path, **context)
