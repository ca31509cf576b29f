"""Every text of the main pages comes from the catalog: no raw key, no English word in the Chinese UI; the links a
user looks for (task → matter, login → public lookup and plans); the favicon; the API docs without the internet."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

import vreception.i18n as i18n
import web
from tests.factories import SH, act_on, build_world, csrf_of, page_client, register_matter
from vreception import clock
from vreception.models import Document

SQLITE = pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # what pages say, not SQL

NAMESPACES = sorted(
    {key.split(".")[0] for key in i18n.catalog("zh-CN")} | {key.split(".")[0] for key in i18n.catalog("en")}
)
RAW_KEY = re.compile(rf"(?<![A-Za-z0-9_.])(?:{'|'.join(NAMESPACES)})\.[a-z0-9_]+(?:[.:][a-z0-9_]+)*")
# English words that have shown up in the Chinese UI, or would if a value went out untranslated: enum values (states,
# roles, kinds, outcomes, categories, channels) and the words of an English template.
SUSPECTS = [
    *"""
    support not_support explain booked open live ended cancelled no_show reception hearing consultation
    coordinator leader handler room petitioner representative registered accepted assigned served
    replied final pending rotation wages land video visit letter draft signing state None True False
    null undefined NaN Back Next Previous Submit Save Cancel Walk-in Agenda Week Month Today error
    invalid forbidden not_found
    """.split(),
    "Sign in",
    "Sign out",
    "Not Found",
    "Internal Server Error",
]
SUSPECT = re.compile(rf"(?<![A-Za-z_])(?:{'|'.join(re.escape(w) for w in SUSPECTS)})(?![A-Za-z_])")
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


class _Text(HTMLParser):
    """The text a person reads: text nodes outside scripts and styles, and the attributes that are shown."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [value for name, value in attrs if name in SHOWN_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def shown_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def untranslated(html: str, names: list[str]) -> list[str]:
    """Raw keys and suspect English words in what the page shows (people's test names, e.g. 测试leader_county, aside)."""
    text = shown_text(html)
    for name in names:
        text = text.replace(name, "")
    text = text.replace("中文 · English", "")  # the language switch names itself
    return sorted(set(RAW_KEY.findall(text)) | set(SUSPECT.findall(text)))


@pytest.fixture
def world(app, org, settings, db):
    """build_world, plus a second matter replied with the outcome "support" and served (lookup, documents)."""
    world = build_world(db, org, settings)
    with db.transaction() as session:
        served, code = register_matter(session, org, settings, serial=2, name="李四", phone="13900139000")
        act_on(session, org, served, "accept")
        act_on(session, org, served, "reply", params={"outcome": "support", "reason": "支持你的诉求，已责令支付。"})
        act_on(session, org, served, "serve")
        documents = [d.id for d in session.scalars(select(Document).where(Document.matter_id == served.id))]
    world.served = (served.id, served.number, code, documents)
    return world


def _pages(world, org) -> dict[str, list[str]]:
    s, n = world.scene, org.nodes
    matter, served = f"/matters/{s.matter}", f"/matters/{world.served[0]}"
    documents = [f"/documents/{d}.html" for d in world.served[3]]
    return {
        None: ["/login", "/lookup", "/plans", f"/plans/{n['county'].id}"],
        "coord.county": [
            "/dashboard",
            "/walk-in",
            "/matters",
            "/matters/new",
            matter,
            served,
            *documents,
            f"{matter}/book",
            f"{matter}/book?mode=walk_in",
            f"/sessions/{s.session}",
            f"/sessions/{world.finished}",
            f"/sessions/{world.finished}/record",
            "/tasks",
            f"/tasks/{s.task}",
            "/leader-plans",
            f"/calls/{s.session}",
            "/self-test",
        ],
        "leader.county": ["/agenda", "/agenda?view=month", matter, f"/calls/{s.session}", "/leader-plans"],
        "handler": ["/tasks", f"/tasks/{s.task}", matter],
        "room.township": ["/kiosk", f"/kiosk/sessions/{s.session}/consent", f"/calls/{s.session}"],
        world.usernames["hearing"]: ["/", "/my-hearings"],
        "admin": ["/"],
    }


@SQLITE
def test_the_main_pages_of_every_role_show_no_raw_key_and_no_english_word(app, org, world):
    names = sorted((p.name for p in org.people.values()), key=len, reverse=True)
    found = {}
    for username, paths in _pages(world, org).items():
        client = page_client(app, username)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (username, path, response.status_code)
            assert '<html lang="zh-CN">' in response.text
            if bad := untranslated(response.text, names):
                found[f"{username} {path}"] = bad
    # The petitioner's lookup of the served matter.
    public = page_client(app, None)
    number, code = world.served[1], world.served[2]
    result = public.post(
        "/lookup", data={"csrf_token": csrf_of(public.get("/lookup").text), "number": number, "code": code}
    )
    assert result.status_code == 200 and number in result.text
    if bad := untranslated(result.text, names):
        found["lookup result"] = bad
    # The call itself, once open, for the leader (its labels come from the catalog through the page's messages).
    clock.travel_to(datetime(2026, 3, 4, 8, 45, tzinfo=SH))
    call = page_client(app, "leader.county").get(f"/calls/{world.scene.session}")
    assert 'id="call-config"' in call.text
    if bad := untranslated(call.text, names):
        found["leader.county call"] = bad
    messages = (
        json.loads(
            re.search(r'<script type="application/json" id="call-messages">(.*?)</script>', call.text, re.S).group(1)
        )
        if 'id="call-messages"' in call.text
        else {}
    )
    if bad := sorted(k for k, v in messages.items() if v == k):
        found["call messages"] = bad
    assert found == {}


def test_the_checker_sees_what_it_looks_for():
    page = (
        '<p>开始时间 · pages.session.event.state:open</p><p title="support">支持</p>'
        '<script>const x = "pages.not.shown";</script><p>测试leader_county · 状态 open</p>'
    )
    assert untranslated(page, ["测试leader_county"]) == ["open", "pages.session.event.state:open", "state", "support"]


@SQLITE
def test_the_handler_follows_the_task_to_its_matter(app, world):
    handler = page_client(app, "handler")
    task = handler.get(f"/tasks/{world.scene.task}")
    assert f'<a href="/matters/{world.scene.matter}" data-task-matter>' in task.text
    assert handler.get(f"/matters/{world.scene.matter}").status_code == 200


@SQLITE
def test_the_login_page_links_to_the_public_lookup_and_the_plans(app):
    page = page_client(app, None).get("/login")
    assert 'href="/lookup"' in page.text and 'href="/plans"' in page.text
    assert page_client(app, None).get("/lookup").status_code == 200
    assert page_client(app, None).get("/plans").status_code == 200


@SQLITE
def test_every_page_has_the_favicon_and_it_is_served(app, client):
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in client.get("/login").text
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content.startswith(b"<svg")


_URL = re.compile(r'(?:src|href)\s*=\s*"([^"]*)"|url:\s*\'([^\']*)\'')


@SQLITE
@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
def test_the_api_docs_load_only_files_of_this_server(client, path):
    page = client.get(path)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    urls = [a or b for a, b in _URL.findall(page.text)]
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert not re.search(r"https?://(?!www\.w3\.org)", page.text), "an absolute URL in " + path
    for url in urls:
        if url.startswith("/static/"):
            served = client.get(url)
            assert served.status_code == 200 and len(served.content) > 100, url
    if path != "/docs/oauth2-redirect":
        assert any(u.startswith("/static/vendor/") for u in urls) and "/static/favicon.svg" in urls


def test_the_vendored_viewers_come_with_their_licences():
    vendor = Path(web.__file__).parent / "static" / "vendor"
    assert "Apache License" in (vendor / "swagger-ui" / "LICENSE").read_text()
    assert "MIT" in (vendor / "redoc" / "LICENSE").read_text()
    readme = (vendor / "README.md").read_text()
    assert "swagger-ui-dist" in readme and "redoc" in readme
