"""The leader's agenda by week and by month: the coming sessions first, then a calendar, then the past ones."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.factories import SH, build_scene, page_client, session_row

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # page reads, not SQL


@pytest.fixture
def agenda(app, org, settings, db):
    """Monday 2026-03-02 10:00: the scene's Wednesday session, and others written out of order around it."""
    scene = build_scene(db, org, settings)
    with db.transaction() as session:
        ids = {
            key: session_row(session, org, starts_at=datetime(*when, tzinfo=SH), state=state, room="township").id
            for key, when, state in (
                ("thursday", (2026, 3, 5, 10, 0), "booked"),
                ("tuesday", (2026, 3, 3, 9, 0), "booked"),
                ("monday", (2026, 3, 2, 9, 0), "ended"),
                ("running", (2026, 3, 2, 9, 30), "live"),  # past its end (10:00) but still on
                ("late_march", (2026, 3, 20, 9, 0), "booked"),
                ("april", (2026, 4, 2, 9, 0), "booked"),
            )
        }
    ids["wednesday"] = scene.session
    return ids


def _section(html: str, marker: str) -> str:
    """The part of the page from MARKER to the next section (the calendar after the coming, the owned matters after
    the past)."""
    start = html.index(marker)
    return html[start : html.index("agenda-calendar" if "coming" in marker else 'aria-labelledby="h-owned"', start)]


def _order(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<article class="card" id="session-\d+" data-session="(\d+)"', html)]


def test_the_week_shows_the_next_sessions_first_and_the_past_after(app, agenda):
    page = page_client(app, "leader.county").get("/agenda")
    assert page.status_code == 200 and 'data-agenda-view="week"' in page.text
    assert "2026-03-02 至 2026-03-08" in page.text
    coming = _order(_section(page.text, "data-agenda-coming"))
    assert coming == [agenda["running"], agenda["tuesday"], agenda["wednesday"], agenda["thursday"]]
    assert _order(_section(page.text, "data-agenda-past")) == [agenda["monday"]]
    assert agenda["late_march"] not in _order(page.text)
    # The calendar has the week's seven days, each linking to its sessions' cards.
    assert len(re.findall(r'data-day="2026-03-0\d"', page.text)) == 7
    assert f'href="#session-{agenda["wednesday"]}"' in page.text
    assert 'href="/agenda?view=week&amp;day=2026-03-09"' in page.text


def test_the_month_view_and_its_neighbours(app, agenda):
    leader = page_client(app, "leader.county")
    march = leader.get("/agenda?view=month")
    assert 'data-agenda-view="month"' in march.text and "2026-03-01 至 2026-03-31" in march.text
    coming = _order(_section(march.text, "data-agenda-coming"))
    assert coming == [
        agenda["running"],
        agenda["tuesday"],
        agenda["wednesday"],
        agenda["thursday"],
        agenda["late_march"],
    ]
    # The calendar runs from the Monday before the first to the Sunday after the last; other months' days dimmed.
    assert 'data-day="2026-02-23"' in march.text and 'data-day="2026-04-05"' in march.text
    assert 'class="day outside" data-day="2026-02-28"' in march.text
    assert 'class="day today" data-day="2026-03-02"' in march.text
    assert 'href="/agenda?view=month&amp;day=2026-04-01"' in march.text
    april = leader.get("/agenda?view=month&day=2026-04-01")
    assert _order(_section(april.text, "data-agenda-coming")) == [agenda["april"]]
    assert 'href="/agenda?view=month&amp;day=2026-03-31"' in april.text
    # Nonsense falls back to this week rather than failing.
    assert 'data-agenda-view="week"' in leader.get("/agenda?view=year&day=not-a-day").text
    # Another leader's agenda holds none of them.
    assert _order(page_client(app, "leader.city").get("/agenda?view=month").text) == []
