"""JSON embedded in pages is escaped for HTML: hostile names in a call's config stay data."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tests.factories import (
    NOW,
    SH,
    act_on,
    add_attachment,
    add_task,
    book_session,
    build_scene,
    page_client,
    register_matter,
)
from vreception import clock
from vreception.models import Person, Room
from web import templating

BREAKOUT = "</script><script>window.__xss=1</script>"


@dataclass
class HostileCall:
    session: int
    attachment: int
    names: dict


def hostile_call(db, org, settings) -> HostileCall:
    """A booked call whose leader, room, petitioner and participant names carry script-tag payloads."""
    build_scene(db, org, settings)
    with db.transaction() as session:
        matter, _ = register_matter(session, org, settings, serial=2, name="王五", phone="13800138001", summary="拖欠工资")
        item = book_session(session, org, matter_id=matter.id, starts_at=datetime(2026, 3, 5, 9, 0, tzinfo=SH),
                            petitioner="王五")
        act_on(session, org, matter, "accept")
        task = add_task(session, org, matter, title="核实", due_at=NOW + timedelta(days=10))
        attachment = add_attachment(session, org, settings, task, filename="x.js", content_type="text/javascript",
                                    data=b"window.__xss=1;")
        # As in the probe: a script src pointing at an uploaded attachment that holds script.
        loader = f"</script><script src=/attachments/{attachment.id}></script>"
        names = {"leader": "测试" + loader, "room": "桃源镇" + BREAKOUT, "petitioner": "王五" + loader}
        # Renamed after booking, because the payload names the attachment's id.
        session.get(Person, org.people["leader_county"].id).name = names["leader"]
        session.get(Room, org.rooms["township"].id).name = names["room"]
        matter.petitioner_links[0].petitioner.name = names["petitioner"]
        for participant in item.participants:
            if participant.role != "room" or participant.room_id == org.rooms["township"].id:
                participant.name = names.get(participant.role, participant.name)
        return HostileCall(item.id, attachment.id, names)


def test_json_script_escapes_what_could_end_a_script_element():
    value = {"name": "</script><!--&'\u2028\u2029张三"}
    out = templating.json_script(value)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in out
    for escaped in ("\\u003c", "\\u003e", "\\u0026", "\\u2028", "\\u2029"):
        assert escaped in out
    assert "张三" in out
    assert json.loads(out) == value


def test_templates_autoescape_html_and_json_script_is_a_filter():
    environment = templating.templates.env
    assert environment.filters["json_script"] is templating.json_script
    rendered = environment.from_string("{{ v }}|{{ v | json_script }}").render(v="<b>")
    assert rendered == '&lt;b&gt;|"\\u003cb\\u003e"'
    assert environment.autoescape("call.html") is True


def test_no_template_marks_json_or_input_safe():
    folder = Path(__file__).resolve().parents[2] / "web" / "templates"
    for template in folder.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b", text), template.name
        assert not re.search(r"\|\s*tojson\b", text), template.name  # json_script also escapes U+2028/9


def test_call_page_renders_hostile_names_inert(app, org, settings, db):
    call = hostile_call(db, org, settings)
    clock.travel_to(datetime(2026, 3, 5, 8, 30, tzinfo=SH))  # the call opens 30 minutes before the session
    page = page_client(app, "leader.county").get(f"/calls/{call.session}")
    assert page.status_code == 200, page.text[:300]
    assert "<script src=/attachments" not in page.text and "<script>window" not in page.text
    for tag in re.findall(r"<script\b[^>]*>", page.text):
        assert 'type="application/json"' in tag or 'src="/static/' in tag, tag
    config = json.loads(re.search(r'id="call-config">(.*?)</script>', page.text, re.DOTALL).group(1))
    assert set(call.names.values()) <= set(config["names"].values())
    assert "测试&lt;/script&gt;&lt;script src=/attachments/" in page.text  # the leader's name, as text


def test_every_response_says_nosniff(client):
    for url in ("/healthz", "/api/v1/openapi.json", "/openapi.json", "/static/js/call-page.js", "/login",
                "/api/v1/matters", "/no-such-page"):
        response = client.get(url)
        assert response.headers.get("x-content-type-options") == "nosniff", (url, response.status_code)
