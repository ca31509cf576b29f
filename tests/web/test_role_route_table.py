"""Every route of the app × every role: the status each role gets, so the API and the pages cannot drift apart."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from tests.conftest import _migrated_database, reset
from tests.factories import PASSWORD, app_settings, build_org, build_world, csrf_of, id_number, login, page_client
from vreception import clock
from web.csrf import CSRF_COOKIE

# One worker builds the world once and runs every row (make test: -n 2 --dist loadgroup).
pytestmark = pytest.mark.xdist_group("role_route_table")

# ---- roles -----------------------------------------------------------------------------------------------------------
# Role key → account (org.people key); county A holds the matter, county B is the other county of the same city.
ACCOUNTS = {
    "admin": "admin", "prov": "coord_province", "city": "coord_city", "coord_a": "coord_county",
    "coord_b": "coord_county2", "town": "coord_township", "leader_a": "leader_county", "leader_b": "leader_county2",
    "handler_a": "handler", "handler_b": "handler_county2", "room": "room_township", "hearing": "hearing",
}
SIGNED_IN = tuple(ACCOUNTS)
ROLES = SIGNED_IN + ("anon",)

OFFICE_A = {"admin", "prov", "city", "coord_a"}  # coordinators over county A (an admin counts as every role)
READ_A = OFFICE_A | {"leader_a"}  # coordinators and leaders over county A
MATTER_A = READ_A | {"handler_a"}  # … and the unit with a task on the matter
MANAGERS = OFFICE_A | {"town"}  # coordinators over a node of the session (the township holds its room)
SEEN = MANAGERS | {"leader_a", "room"}  # … and the session's leader and room
COORDS = {"admin", "prov", "city", "coord_a", "coord_b", "town"}
STAFF = COORDS | {"leader_a", "leader_b"}  # coordinator or leader somewhere
DIRECTORY = STAFF | {"handler_a", "handler_b", "hearing"}  # every staff role; kiosk accounts do not browse
UNIT_A = {"admin", "handler_a"}  # handlers of the task's unit
CHAIR = {"leader_a"}  # the chair of the world's hearing (a seat of a person: an admin does not hold it)
PANEL = {"hearing"}  # its sitting panel member (likewise)
# Who sees the world's hearing: the matter's readers and its sitting panel. The panel does not read the matter
# itself (cases.access): only the served documents of the case file, on the member's page.
HEARING_A = MATTER_A | PANEL
UNKNOWN = {"hearing_id": "no_hearing", "entry_id": "no_hearing"}  # a row against ids that do not exist
COVER_B = {"admin", "prov", "city"}  # over county A's matter and county B's units and leaders alike
NEW_PASSWORD = "Nëw-pass-2026"

ACCESS = "access"  # any answer but a refusal (401, 403, 303 to /login) or a 5xx: the caller got past the access check
REFUSED = "refused"  # 401, 403 or 303 to /login


def only(allowed: set[str], ok: Any = 200, no: Any = 403) -> dict:
    """OK for the roles in ALLOWED, NO for the other signed-in roles (the signed-out default is per route kind)."""
    return {role: ok if role in allowed else no for role in SIGNED_IN}


def write(allowed: set[str]) -> dict:
    """A write: past the access check for ALLOWED, 403 for the others."""
    return only(allowed, ACCESS)


def everyone(status: Any) -> dict:
    return {role: status for role in SIGNED_IN}


def public(status: Any) -> dict:
    return {**everyone(status), "anon": status}


# ---- the table -------------------------------------------------------------------------------------------------------

@dataclass
class Row:
    method: str
    path: str  # as the app declares it (the table's key, with method)
    expect: dict
    variant: str = ""
    params: Any = None  # query string: dict or w → dict
    body: Any = None  # JSON (API) or form (pages): dict or w → dict
    files: Any = None
    fresh: bool = False  # sign in a new client for this request (sign-in and sign-out change the browser)
    json: bool = False  # a page route that takes a JSON body (the page's script posts it) instead of a form
    at: Any = None  # path parameters → the world's object, over DEFAULT_AT (e.g. an unknown id)

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.variant}]" if self.variant else "")


def R(method, path, expect, **kw) -> Row:
    return Row(method, path, expect, **kw)


WEEK = {"from": "2026-03-02T00:00:00+08:00", "to": "2026-03-09T00:00:00+08:00"}
SLOT = {"start": "2026-03-05T09:00:00+08:00", "end": "2026-03-05T09:30:00+08:00"}


def _matter(w):
    return {"petitioners": [{"name": "李四", "id_number": id_number(7), "phone": "13800138001"}],
            "origin_node_id": w.township, "handling_node_id": w.county_a,
            "demands": [{"summary": "拖欠工资", "category": "wages"}], "channel": "video"}


TABLE = [
    # -- open to all ---------------------------------------------------------------------------------------------------
    R("GET", "/openapi.json", public(200)),
    R("GET", "/docs", public(200)),
    R("GET", "/docs/oauth2-redirect", public(200)),
    R("GET", "/redoc", public(200)),
    R("GET", "/healthz", public(200)),
    R("GET", "/static", public(200), variant="app.css"),
    R("WS", "/ws/sessions/{session_id}", {"anon": REFUSED}),  # join tokens, not roles: tests/calls
    # -- API: auth and the directory -----------------------------------------------------------------------------------
    R("POST", "/api/v1/auth/login", {**everyone(200), "anon": 401}),  # own password; the signed-out a wrong one
    R("GET", "/api/v1/auth/me", everyone(200)),
    R("POST", "/api/v1/auth/logout", everyone(204), fresh=True),  # ends a fresh token of the role's own
    R("POST", "/api/v1/people/{person_id}/unlock", write({"admin"})),
    # One's own password (ending every other sign-in); an administrator over the person's node (de)activates.
    R("POST", "/api/v1/auth/password", everyone(200), fresh=True,
      body={"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    R("POST", "/api/v1/people/{person_id}/deactivate", write({"admin"})),
    R("POST", "/api/v1/people/{person_id}/reactivate", write({"admin"})),
    R("GET", "/api/v1/nodes", only(DIRECTORY)),
    R("GET", "/api/v1/nodes/{node_id}", only(DIRECTORY)),
    R("POST", "/api/v1/nodes", write({"admin"}),
      body=lambda w: {"code": "580102009", "name": "新镇", "level": "township", "parent_id": w.county_a}),
    R("GET", "/api/v1/rooms", only(DIRECTORY)),
    R("POST", "/api/v1/rooms", write({"admin"}), body=lambda w: {"node_id": w.township, "name": "新接访室"}),
    R("GET", "/api/v1/people", only(DIRECTORY)),
    R("POST", "/api/v1/people", write({"admin"}), body=lambda w: {"name": "新人", "node_id": w.township}),
    # -- API: scheduling -----------------------------------------------------------------------------------------------
    R("POST", "/api/v1/plans", write(OFFICE_A),
      body=lambda w: {"kind": "weekly", "leader_ids": [w.leader_a], "weekday": 3, "half": "afternoon",
                      "valid_from": "2026-03-02"}),
    R("GET", "/api/v1/plans", only(STAFF)),
    R("POST", "/api/v1/plans/{plan_id}/withdraw", write(OFFICE_A)),
    R("POST", "/api/v1/leaders/{leader_id}/absences", write(OFFICE_A | {"leader_a"}), body={"day": "2026-03-20"}),
    R("PUT", "/api/v1/rooms/{room_id}/hours", write(MANAGERS), body=[{"opens": "08:00", "closes": "18:00"}]),
    R("POST", "/api/v1/rooms/{room_id}/closures", write(MANAGERS),
      body={"start": "2026-04-01T09:00:00+08:00", "end": "2026-04-01T10:00:00+08:00"}),
    R("GET", "/api/v1/availability", only(STAFF), params=lambda w: {"leader_id": w.leader_a, **WEEK}),
    # Booking needs a coordinator over the leader or a room who may read the matter (as the booking page does).
    R("POST", "/api/v1/sessions", write(OFFICE_A),
      body=lambda w: {"kind": "reception", "leader_id": w.leader_a, "room_ids": [w.room_id], "matter_id": w.matter_id,
                      **SLOT}),
    # A level override only from a coordinator at the leader's level or above (not the township's).
    R("POST", "/api/v1/sessions", write(OFFICE_A), variant="walk-in with a level override",
      body=lambda w: {"kind": "reception", "leader_id": w.leader_a, "room_ids": [w.room_id], "matter_id": w.matter_id,
                      "ad_hoc": True, "reason": "现场接访", "override_reason": "越级"}),
    # A booking claims its rooms: every room inside the booker's subtree.
    R("POST", "/api/v1/sessions", write({"admin", "prov", "city"}), variant="rooms of both counties",
      body=lambda w: {"kind": "reception", "leader_id": w.leader_a, "room_ids": [w.room_id, w.room_b],
                      "matter_id": w.matter_id, **SLOT}),
    R("GET", "/api/v1/sessions", everyone(200)),  # filtered to what each may see
    R("GET", "/api/v1/sessions/{session_id}", only(SEEN)),
    R("POST", "/api/v1/sessions/{session_id}/reschedule", write(MANAGERS), body=SLOT),
    R("POST", "/api/v1/sessions/{session_id}/cancel", write(MANAGERS), body={"reason": "x"}),
    # Seats are personal: only the leader takes the leader's seat, a coordinator their own, the kiosk the room's.
    # The world's session (Wednesday) is not open yet on its Monday: past the seat rule, 409 session_not_open_yet.
    R("POST", "/api/v1/sessions/{session_id}/join", only({"leader_a"}, 409), variant="leader's seat",
      body=lambda w: {"participant_id": w.seats["leader"]}),
    R("POST", "/api/v1/sessions/{session_id}/join", only({"coord_a"}, 409), variant="coord_a's seat",
      body=lambda w: {"participant_id": w.seats["coordinator"]}),
    R("POST", "/api/v1/sessions/{session_id}/join", only({"room"}, 409), variant="room's seat",
      body=lambda w: {"participant_id": w.seats["room"]}),
    R("GET", "/api/v1/calendars/leaders/{leader_id}.ics", only(READ_A)),
    R("GET", "/api/v1/calendars/leaders/{leader_id}.ics", public(200), variant="feed token",
      params=lambda w: {"token": w.leader_feed}),
    R("GET", "/api/v1/calendars/rooms/{room_id}.ics", only(MANAGERS | {"room"})),
    R("GET", "/api/v1/calendars/rooms/{room_id}.ics", public(200), variant="feed token",
      params=lambda w: {"token": w.room_feed}),
    R("GET", "/api/v1/calendars/leaders/{leader_id}/feed", only(READ_A)),
    R("GET", "/api/v1/calendars/rooms/{room_id}/feed", only(MANAGERS | {"room"})),
    R("POST", "/api/v1/calendars/leaders/{leader_id}/feed/revoke", write(READ_A)),
    R("POST", "/api/v1/calendars/rooms/{room_id}/feed/revoke", write(MANAGERS | {"room"})),
    # -- API: matters, documents, tasks --------------------------------------------------------------------------------
    R("POST", "/api/v1/matters", write(OFFICE_A), body=_matter),
    R("POST", "/api/v1/matters/repeat-check", write(COORDS),
      body=lambda w: {k: v for k, v in _matter(w).items() if k in ("petitioners", "demands")}),
    R("GET", "/api/v1/matters", everyone(200)),  # filtered to what each may read
    R("GET", "/api/v1/matters/{matter_id}", only(MATTER_A)),
    # A petitioner's history: their matters each role may read; none readable looks like no such petitioner.
    R("GET", "/api/v1/petitioners/{petitioner_id}/matters", only(MATTER_A, no=404)),
    R("POST", "/api/v1/matters/{matter_id}/actions", write(OFFICE_A), body={"action": "accept"}),
    # An office makes only leaders it covers owners (county A's office not county B's leader).
    R("POST", "/api/v1/matters/{matter_id}/actions", write(COVER_B), variant="set_owner: county B's leader",
      body=lambda w: {"action": "set_owner", "leader_id": w.leader_b}),
    # The petitioner's materials (登记附件): the office attaches (a text file: 415 past the check), readers list.
    R("POST", "/api/v1/matters/{matter_id}/attachments", write(OFFICE_A),
      files={"file": ("a.txt", b"x", "text/plain")}),
    R("GET", "/api/v1/matters/{matter_id}/attachments", only(MATTER_A)),
    R("GET", "/api/v1/matters/{matter_id}/attachments/{sha256}", only(MATTER_A, 404), at={"sha256": "no_gallery"}),
    R("GET", "/api/v1/documents/{document_id:int}", only(MATTER_A)),
    R("GET", "/api/v1/documents/{document_id}.html", only(MATTER_A)),
    R("GET", "/api/v1/documents/{document_id}.pdf", only(MATTER_A)),
    R("GET", "/api/v1/documents/{document_id}/proof", only(MATTER_A, 404)),
    R("POST", "/api/v1/matters/{matter_id}/tasks", write(READ_A),
      body=lambda w: {"unit_node_id": w.dept_a, "title": "核实", "due_at": "2026-03-20T17:30:00+08:00"}),
    # A task's unit lies inside the assigner's subtree: county B's unit only from above both counties.
    R("POST", "/api/v1/matters/{matter_id}/tasks", write(COVER_B), variant="unit of county B",
      body=lambda w: {"unit_node_id": w.dept_b, "title": "核实", "due_at": "2026-03-20T17:30:00+08:00"}),
    R("GET", "/api/v1/tasks", everyone(200)),  # filtered to what each may see
    R("GET", "/api/v1/tasks/{task_id}", only(MATTER_A)),  # the unit and the office, not the hearing panel
    R("PATCH", "/api/v1/tasks/{task_id}", write(UNIT_A), variant="unit's move", body={"action": "accept"}),
    R("PATCH", "/api/v1/tasks/{task_id}", write(READ_A), variant="office's move", body={"action": "verify"}),
    R("POST", "/api/v1/tasks/{task_id}/attachments", write(UNIT_A), files={"file": ("a.txt", b"x", "text/plain")}),
    R("GET", "/api/v1/attachments/{attachment_id}", only(MATTER_A)),
    R("GET", "/api/v1/public/matters/{number}", public(200), params=lambda w: {"code": w.code}),
    R("GET", "/api/v1/public/matters/{number}/documents/{document_id}", public(404),  # not served yet
      params=lambda w: {"code": w.code}),
    R("POST", "/api/v1/public/matters/{number}/rating", public(ACCESS),
      body=lambda w: {"code": w.code, "rating": "satisfied"}),
    R("GET", "/api/v1/stats/rates", only(STAFF), params={"month": "2026-03"}),
    R("GET", "/api/v1/stats/ranking", only(READ_A), params=lambda w: {"month": "2026-03", "parent_id": w.county_a}),
    # -- API: recordings (those who may read the session's matter, and its leader) -------------------------------------
    R("GET", "/api/v1/recordings/{recording_id}", only(MATTER_A)),
    R("GET", "/api/v1/recordings/{recording_id}/media", only(MATTER_A, ACCESS)),  # a row without media: 404/409
    R("POST", "/api/v1/recordings/{recording_id}/verify", write(MATTER_A)),
    # -- API: the reception record (the matter's readers and the session's kiosk read; the kiosk takes signatures) ------
    R("GET", "/api/v1/sessions/{session_id}/record", only(MATTER_A | {"room"})),
    R("POST", "/api/v1/sessions/{session_id}/record", write(READ_A), body={"text": "信访人陈述"}),
    R("POST", "/api/v1/sessions/{session_id}/record/signatures", write({"room"}),
      files={"participant_id": (None, "1"), "signature": ("s.png", b"\x89PNG\r\n\x1a\n", "image/png")}),
    R("POST", "/api/v1/sessions/{session_id}/record/refusals", write({"room"}),
      body=lambda w: {"participant_id": w.seats["petitioner"], "reason": "有异议"}),
    R("POST", "/api/v1/sessions/{session_id}/record/confirm", write({"leader_a"})),
    # Refusing to confirm is for a hearing record's staff only: the world's session is a reception.
    R("POST", "/api/v1/sessions/{session_id}/record/confirm-refusals", write(set()), body={"reason": "有异议"}),
    # -- API and pages: a hearing member's opinion and case file (only the sitting panel: an admin is no member;
    #    409 before the deliberation counts as access) ------------------------------------------------------------------
    R("POST", "/api/v1/hearings/{hearing_id}/opinion", write(PANEL), body={"text": "建议支持"}),
    R("POST", "/api/v1/hearings/{hearing_id}/opinion", everyone(404), variant="unknown", at=UNKNOWN,
      body={"text": "建议支持"}),
    # -- API: the hearing procedure (the world's hearing on county A's matter is decided: leader_a chairs, coord_a
    #    records, the hearing member sits, a 回避 request against that member waits for the chair) -----------------------
    R("POST", "/api/v1/matters/{matter_id}/hearings", write(OFFICE_A), body={"reason": "事实争议"}),
    R("GET", "/api/v1/matters/{matter_id}/hearings", only(MATTER_A)),
    # Those who may not see a hearing are refused (403), not told it does not exist (load_visible).
    R("GET", "/api/v1/hearings/{hearing_id}", only(HEARING_A)),
    R("GET", "/api/v1/hearings/{hearing_id}", everyone(404), variant="unknown", at=UNKNOWN),
    R("POST", "/api/v1/hearings/{hearing_id}/decision", write(OFFICE_A), body={"hold": True}),
    R("POST", "/api/v1/hearings/{hearing_id}/decision", everyone(404), variant="unknown", at=UNKNOWN,
      body={"hold": True}),
    R("PUT", "/api/v1/hearings/{hearing_id}/chair", write(OFFICE_A),
      body=lambda w: {"chair_id": w.leader_a, "recorder_id": w.recorder}),
    R("PUT", "/api/v1/hearings/{hearing_id}/panel", write(OFFICE_A), body={"members": []}),
    R("PUT", "/api/v1/hearings/{hearing_id}/publicity", write(OFFICE_A), body={"public": True}),
    R("POST", "/api/v1/hearings/{hearing_id}/booking", write(OFFICE_A), body={**SLOT, "room_ids": []}),
    # A 回避 request is written down by the office or the chair; the chair decides one against a member.
    R("POST", "/api/v1/hearings/{hearing_id}/recusals", write(OFFICE_A | CHAIR),
      body=lambda w: {"against_id": w.member, "requested_by": "张三", "reason": "利害关系"}),
    R("POST", "/api/v1/hearings/{hearing_id}/recusals/{recusal_id}/decision", write(CHAIR),
      body={"granted": False, "reason": "不属实"}),
    R("POST", "/api/v1/hearings/{hearing_id}/conclusion", write(OFFICE_A), body={"conclusion": "维持"}),
    R("POST", "/api/v1/hearings/{hearing_id}/publication", write(OFFICE_A)),
    R("GET", "/api/v1/hearing-roster", only(OFFICE_A), params=lambda w: {"node_id": w.county_a}),
    R("POST", "/api/v1/hearing-roster", write(OFFICE_A), body=lambda w: {"node_id": w.county_a, "person_id": w.leader_a}),
    R("DELETE", "/api/v1/hearing-roster/{entry_id}", write(OFFICE_A)),
    R("DELETE", "/api/v1/hearing-roster/{entry_id}", everyone(404), variant="unknown", at=UNKNOWN),
    R("GET", "/api/v1/public/hearings/{hearing_id}", public(404)),  # the world's hearing is not published
    # -- pages: sign-in, landing, published plans ----------------------------------------------------------------------
    R("GET", "/login", {**everyone(303), "anon": 200}),
    R("POST", "/login", {**everyone(303), "anon": 401}, fresh=True),  # own password; the signed-out a wrong one
    R("GET", "/account/password", everyone(200)),
    R("POST", "/account/password", everyone(200), fresh=True,
      body={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}),
    R("POST", "/logout", public(303), fresh=True),
    R("GET", "/", {**everyone(303), "hearing": 200}),  # to the role's home; others see their roles
    R("GET", "/plans", public(200)),
    R("GET", "/plans/{node_id}", public(200)),
    # -- pages: the call (the desk, the record and tasks follow the matter's read rule) --------------------------------
    # The township coordinator may run the lobby (200, without the desk: see the lobby test) or be refused.
    R("GET", "/calls/{session_id}", {**only(SEEN), "town": (200, 403)}),
    R("POST", "/calls/{session_id}/token", write(SEEN)),
    R("POST", "/calls/{session_id}/record", write(READ_A), body={"notes": "接谈记录"}),
    R("POST", "/calls/{session_id}/tasks", write(READ_A),
      body=lambda w: {"unit_node_id": w.dept_a, "title": "核实", "due_on": "2026-03-20"}),
    R("POST", "/calls/{session_id}/tasks", write(COVER_B), variant="unit of county B",
      body=lambda w: {"unit_node_id": w.dept_b, "title": "核实", "due_on": "2026-03-20"}),
    # Evidence shown in the call: the list for every seat; a notice or attachment only from a shower who reads the
    # matter; the room's kiosk only uploads; pages for every seat (404 here: nothing was prepared).
    R("GET", "/calls/{session_id}/evidence", only(SEEN)),
    R("POST", "/calls/{session_id}/evidence", write(READ_A), body={"item": "doc:999999"}),
    R("POST", "/calls/{session_id}/evidence/upload", write(READ_A | {"room"}),
      files={"file": ("a.txt", b"not a pdf", "text/plain")}),
    R("GET", "/calls/{session_id}/evidence/page", only(SEEN, ACCESS), params={"item": "doc:1", "page": "1"}),
    R("GET", "/recordings/{recording_id}/media", {**only(MATTER_A, ACCESS), "anon": REFUSED}),
    R("GET", "/self-test", everyone(200)),
    # -- pages: coordinator and leader desks ---------------------------------------------------------------------------
    R("GET", "/dashboard", only(COORDS)),
    R("GET", "/walk-in", only(COORDS)),
    R("GET", "/dashboard/live", only(COORDS)),
    R("GET", "/agenda", only({"admin", "leader_a", "leader_b"})),
    R("GET", "/leader-plans", only(STAFF)),
    R("POST", "/leader-plans", write(OFFICE_A),
      body=lambda w: {"leader_id": w.leader_a, "kind": "weekly", "weekday": "3", "starts": "14:00", "ends": "16:00",
                      "valid_from": "2026-03-02"}),
    R("GET", "/leader-plans/{plan_id}/edit", only(OFFICE_A)),
    R("POST", "/leader-plans/{plan_id}", write(OFFICE_A),
      body=lambda w: {"leader_id": w.leader_a, "kind": "rotation", "starts": "09:00", "ends": "12:00",
                      "valid_from": "2026-03-02"}),
    R("POST", "/leader-plans/{plan_id}/withdraw", write(OFFICE_A)),
    # -- pages: matters, documents, booking ----------------------------------------------------------------------------
    R("GET", "/matters", only(STAFF)),
    R("GET", "/matters/new", only(COORDS)),
    R("POST", "/matters/new/repeat-check", write(COORDS), body={"petitioner_name": "李四"}),
    R("POST", "/matters", write(OFFICE_A), body=lambda w: {"handling_node_id": w.county_a, "petitioner_name": "李四"}),
    R("GET", "/matters/{matter_id}", only(MATTER_A)),
    R("POST", "/matters/{matter_id}/actions", write(OFFICE_A), body={"action": "accept"}),
    R("GET", "/documents/{document_id}.html", only(MATTER_A)),
    R("GET", "/documents/{document_id}.pdf", only(MATTER_A)),
    R("GET", "/documents/{document_id}/proof", only(MATTER_A, 404)),
    R("GET", "/matters/{matter_id}/attachments/{sha256}", only(MATTER_A, 404), at={"sha256": "no_gallery"}),
    R("GET", "/matters/{matter_id}/book", only(OFFICE_A)),
    R("POST", "/matters/{matter_id}/book/check", write(OFFICE_A),
      body=lambda w: {"leader_id": w.leader_a, "room_id": w.room_id}),
    R("POST", "/matters/{matter_id}/book", write(OFFICE_A),
      body=lambda w: {"leader_id": w.leader_a, "room_id": w.room_id}),
    R("GET", "/sessions/{session_id}", only(SEEN)),
    R("POST", "/sessions/{session_id}/reschedule", write(MANAGERS), body={"slot": ""}),
    R("POST", "/sessions/{session_id}/cancel", write(MANAGERS), body={"reason": "x"}),
    # -- pages: tasks --------------------------------------------------------------------------------------------------
    R("GET", "/tasks", only(STAFF | {"handler_a", "handler_b"})),
    R("GET", "/tasks/{task_id}", only(MATTER_A)),
    R("POST", "/tasks/{task_id}/move", write(UNIT_A), variant="unit's move", body={"action": "accept"}),
    R("POST", "/tasks/{task_id}/move", write(READ_A), variant="office's move", body={"action": "verify"}),
    R("POST", "/tasks/{task_id}/report", write(UNIT_A), body={"text": "已核实"}),
    R("POST", "/matters/{matter_id}/tasks", write(READ_A),
      body=lambda w: {"unit_node_id": w.dept_a, "title": "核实", "due_day": "2026-03-20"}),
    R("POST", "/matters/{matter_id}/tasks", write(COVER_B), variant="unit of county B",
      body=lambda w: {"unit_node_id": w.dept_b, "title": "核实", "due_day": "2026-03-20"}),
    R("GET", "/attachments/{attachment_id}", only(MATTER_A)),
    # -- pages: the room kiosk (its own sessions only) -----------------------------------------------------------------
    R("GET", "/kiosk", only({"admin", "room"})),
    R("GET", "/kiosk/sessions/{session_id}/consent", only({"room"})),
    R("POST", "/kiosk/sessions/{session_id}/consent", write({"room"}), body={"agree": "yes"}),
    R("GET", "/kiosk/sessions/{session_id}/rate", only({"room"})),
    R("GET", "/kiosk/sessions/{session_id}/after", only({"room"}, ACCESS)),
    R("POST", "/kiosk/sessions/{session_id}/rate", write({"room"}),
      body=lambda w: {"code": w.code, "rating": "satisfied"}),
    R("GET", "/kiosk/sessions/{session_id}/sign", only({"room"})),
    R("POST", "/kiosk/sessions/{session_id}/sign", write({"room"}), body=lambda w: {"participant_id": w.seats["petitioner"]}),
    R("POST", "/kiosk/sessions/{session_id}/refuse", write({"room"}),
      body=lambda w: {"participant_id": w.seats["petitioner"], "reason": "有异议"}),
    # -- pages: the record and its confirmation by the leader (and a booked recorder) ----------------------------------
    R("GET", "/sessions/{session_id}/record", only(MATTER_A | {"room"})),
    R("POST", "/sessions/{session_id}/record/confirm", write({"leader_a"})),
    R("GET", "/my-hearings", only({"admin", "hearing"})),
    # The member's pages are the sitting panel's: an admin passes the role gate and is refused the seat.
    R("GET", "/hearings/{hearing_id}/member", only(PANEL)),
    R("GET", "/hearings/{hearing_id}/member", only({"admin", "hearing"}, 404), variant="unknown", at=UNKNOWN),
    # The world's document is not served yet: past the access check, the sitting member still gets 404.
    R("GET", "/hearings/{hearing_id}/member/documents/{document_id}.html", only(PANEL, 404)),
    R("POST", "/hearings/{hearing_id}/member/opinion", write(PANEL), body={"opinion": "支持"}),
    # No session is booked for the world's hearing: the member is past the access check and gets a 404.
    R("POST", "/hearings/{hearing_id}/member/confirm", write(PANEL)),
    R("POST", "/hearings/{hearing_id}/member/refuse", write(PANEL), body={"reason": "有异议"}),
    # -- pages: the office's hearing forms on the matter page (the world's hearing, as in the API above) --------------
    R("POST", "/matters/{matter_id}/hearings", write(OFFICE_A), body={"reason": "事实争议"}),
    R("POST", "/hearings/{hearing_id}/decision", write(OFFICE_A), body={"hold": "yes"}),
    R("POST", "/hearings/{hearing_id}/decision", everyone(404), variant="unknown", at=UNKNOWN, body={"hold": "yes"}),
    R("POST", "/hearings/{hearing_id}/chair", write(OFFICE_A),
      body=lambda w: {"chair_id": str(w.leader_a), "recorder_id": str(w.recorder)}),
    R("POST", "/hearings/{hearing_id}/panel", write(OFFICE_A), body=lambda w: {"member": str(w.member)}),
    R("POST", "/hearings/{hearing_id}/publicity", write(OFFICE_A), body={"public": "yes"}),
    R("POST", "/hearings/{hearing_id}/booking", write(OFFICE_A), body={"start": "2026-03-05T09:00"}),
    R("POST", "/hearings/{hearing_id}/recusals", write(OFFICE_A | CHAIR),
      body=lambda w: {"against_id": str(w.member), "reason": "利害关系"}),
    R("POST", "/hearings/{hearing_id}/recusals/{recusal_id}/decision", write(CHAIR),
      body={"granted": "no", "reason": "不属实"}),
    R("POST", "/hearings/{hearing_id}/conclusion", write(OFFICE_A), body={"conclusion": "维持"}),
    R("POST", "/hearings/{hearing_id}/publication", write(OFFICE_A)),
    # -- pages: the chair's hearing controls beside the video (JSON from the call page; the world's hearing) -------
    R("GET", "/hearings/{hearing_id}/call/recusals", only(OFFICE_A | CHAIR)),
    R("GET", "/hearings/{hearing_id}/call/recusals", everyone(404), variant="unknown", at=UNKNOWN),
    R("POST", "/hearings/{hearing_id}/call/recusals", only(OFFICE_A | CHAIR, ACCESS), json=True,
      body=lambda w: {"against_id": w.member, "requested_by": "张三", "reason": "利害关系"}),
    R("POST", "/hearings/{hearing_id}/call/recusals/{recusal_id}/decision", only(CHAIR, ACCESS), json=True,
      body={"granted": False, "reason": "不属实"}),
    R("GET", "/hearings/{hearing_id}/call/opinions", only(CHAIR | {"coord_a"})),  # the chair and the recorder
    # -- pages: an office's roster of hearing members (its coordinators and those above, as in the API) ----------------
    R("GET", "/hearing-roster", only(OFFICE_A), params=lambda w: {"node_id": w.county_a}),
    R("POST", "/hearing-roster", write(OFFICE_A),
      body=lambda w: {"node_id": str(w.county_a), "person_id": str(w.leader_a)}),
    R("POST", "/hearing-roster/{entry_id}/remove", write(OFFICE_A)),
    R("POST", "/hearing-roster/{entry_id}/remove", everyone(404), variant="unknown", at=UNKNOWN),
    # -- pages: the petitioner's lookup --------------------------------------------------------------------------------
    R("GET", "/lookup", public(200)),
    R("GET", "/gallery/{key}", public(404)),
    R("POST", "/gallery/{key}/token", public(404), json=True, body={}),
    R("GET", "/gallery/{key}/evidence", public(404), params={"item": "doc:1", "page": "1"}),
    R("POST", "/lookup", public(ACCESS), body=lambda w: {"number": w.number, "code": w.code}),
    R("POST", "/lookup/rate", public(ACCESS), body={"rating": "satisfied"}),
    R("POST", "/lookup/documents/{document_id}", public(ACCESS)),
    # -- rows: admin_org (anchor; rows of this area go right below) --
    # Nodes are the administrator's; rooms' names and state too; their hours and closures their coordinators' as well.
    R("PATCH", "/api/v1/nodes/{node_id}", write({"admin"}), body={"name": "城东区"}),
    R("POST", "/api/v1/nodes/{node_id}/retire", write({"admin"})),  # county A is in use: 409 past the gate
    R("PATCH", "/api/v1/rooms/{room_id}", write({"admin"}), body={"name": "桃源镇视频接访室"}),
    R("GET", "/api/v1/rooms/{room_id}", only(MANAGERS)),
    R("POST", "/api/v1/rooms/{room_id}/closed-days", write(MANAGERS),
      body={"first": "2026-04-01", "last": "2026-04-01", "reason": "检修"}),
    R("DELETE", "/api/v1/rooms/{room_id}/closures/{closure_id}", write(MANAGERS), at={"closure_id": "no_hearing"}),
    R("GET", "/admin/org", only({"admin"})),
    R("POST", "/admin/org/nodes", write({"admin"}),
      body=lambda w: {"parent_id": w.county_a, "code": "580102077", "name": "新镇"}),
    R("POST", "/admin/org/nodes/{node_id}/rename", write({"admin"}), body={"name": "城东区"}),
    R("POST", "/admin/org/nodes/{node_id}/move", write({"admin"}), body={"parent_id": ""}),
    R("POST", "/admin/org/nodes/{node_id}/retire", write({"admin"})),
    R("GET", "/admin/rooms", only(COORDS)),
    R("POST", "/admin/rooms", write({"admin"}), body=lambda w: {"node_id": w.township, "name": "新接访室"}),
    R("GET", "/admin/rooms/{room_id}", only(MANAGERS)),
    R("POST", "/admin/rooms/{room_id}", write({"admin"}), body={"name": "桃源镇视频接访室"}),
    R("POST", "/admin/rooms/{room_id}/active", write({"admin"}), body={"active": "1"}),
    R("POST", "/admin/rooms/{room_id}/hours", write(MANAGERS), body={"opens_0": "08:00", "closes_0": "18:00"}),
    R("POST", "/admin/rooms/{room_id}/closures", write(MANAGERS),
      body={"first": "2026-04-01", "last": "2026-04-01", "reason": "检修"}),
    R("POST", "/admin/rooms/{room_id}/closures/{closure_id}/delete", write(MANAGERS), at={"closure_id": "no_hearing"}),
    # -- rows: admin_people (anchor; rows of this area go right below) --
    # Accounts: administrators over everything the account reaches (coordinators do not manage accounts).
    R("PATCH", "/api/v1/people/{person_id}", write({"admin"}), body={"title": "副县长（常务）"}),
    R("POST", "/api/v1/people/{person_id}/roles", write({"admin"}),
      body=lambda w: {"role": "leader", "node_id": w.township}),
    R("DELETE", "/api/v1/people/{person_id}/roles/{assignment_id}", write({"admin"}),
      at={"assignment_id": "no_hearing"}),
    R("POST", "/api/v1/people/{person_id}/password-reset", write({"admin"})),
    R("POST", "/api/v1/people/{person_id}/lock", write({"admin"})),
    R("GET", "/api/v1/sign-ins", only({"admin"})),
    R("POST", "/api/v1/sign-ins/{sign_in_id}/revoke", write({"admin"}), at={"sign_in_id": "no_gallery"}),
    R("GET", "/admin/people", only({"admin"})),
    R("GET", "/admin/people/new", only({"admin"})),
    R("POST", "/admin/people/new", write({"admin"}),
      body=lambda w: {"name": "新人", "username": "new.person", "node_id": w.township, "role": "coordinator"}),
    R("GET", "/admin/people/{person_id}", only({"admin"})),
    R("POST", "/admin/people/{person_id}", write({"admin"}),
      body=lambda w: {"name": "新名字", "title": "副县长", "node_id": w.county_a}),
    R("POST", "/admin/people/{person_id}/roles", write({"admin"}),
      body=lambda w: {"role": "leader", "scope_node_id": w.township}),
    R("POST", "/admin/people/{person_id}/roles/{assignment_id}/remove", write({"admin"}),
      at={"assignment_id": "no_hearing"}),
    R("POST", "/admin/people/{person_id}/password-reset", write({"admin"})),
    R("POST", "/admin/people/{person_id}/lock", write({"admin"})),
    R("POST", "/admin/people/{person_id}/unlock", write({"admin"})),
    R("POST", "/admin/people/{person_id}/deactivate", write({"admin"})),
    R("POST", "/admin/people/{person_id}/reactivate", write({"admin"})),
    R("GET", "/admin/sign-ins", only({"admin"})),
    R("POST", "/admin/sign-ins/{sign_in_id}/revoke", write({"admin"}), at={"sign_in_id": "no_gallery"}),
    # -- rows: audit (anchor; rows of this area go right below) --
    # The audit log: coordinators read the events of their subtree's people, administrators verify the chain.
    R("GET", "/api/v1/audit-events", only(COORDS), params={"action": "matter."}),
    R("GET", "/api/v1/audit-events", only(OFFICE_A), variant="county A", params=lambda w: {"node_id": w.county_a}),
    R("POST", "/api/v1/audit/verify", write({"admin"}), body={"full": False}),
    R("GET", "/admin/audit", only(COORDS)),
    R("GET", "/admin/audit", only(OFFICE_A), variant="county A", params=lambda w: {"node_id": w.county_a}),
    R("POST", "/admin/audit/verify", write({"admin"})),
    # -- rows: matter_search (anchor; rows of this area go right below) --
    R("GET", "/api/v1/matters", only(COVER_B | {"coord_b", "leader_b"}), variant="node of county B",
      params=lambda w: {"node_id": w.county_b}),  # a node filter must lie inside the reader's own subtrees
    R("GET", "/api/v1/matters/export", only(STAFF), params={"format": "xlsx"}),  # what each may read, masked
    R("GET", "/matters/export.xlsx", only(STAFF), params={"state": "accepted"}),
    R("GET", "/matters/export.pdf", only(STAFF), params={"state": "accepted"}),
    R("GET", "/petitioners/{petitioner_id}", only(MATTER_A, no=404)),  # none readable looks like no such person
    # -- rows: statistics (anchor; rows of this area go right below) --
    R("GET", "/api/v1/stats/summary", only(STAFF), params={"from": "2026-03", "to": "2026-03"}),
    R("GET", "/api/v1/stats/summary", only(READ_A), variant="county A", params=lambda w: {"node_id": w.county_a}),
    R("GET", "/api/v1/stats/trend", only(STAFF), params={"months": 2}),
    R("GET", "/statistics", only(STAFF)),
    R("GET", "/statistics", only(READ_A), variant="county A", params=lambda w: {"node_id": w.county_a}),
    R("GET", "/statistics/bulletin", only(STAFF), params={"month": "2026-03"}),
    R("GET", "/statistics/bulletin.pdf", only(READ_A), params=lambda w: {"month": "2026-03", "node_id": w.county_a}),
    R("GET", "/statistics/export.xlsx", only(STAFF), params={"from": "2026-02", "to": "2026-03"}),
    R("GET", "/statistics/export.pdf", only(READ_A), params=lambda w: {"node_id": w.county_a}),
    # -- rows: network (anchor; rows of this area go right below) --
    # The overview starts at each coordinator's own top node; node_id defaults to county A (under all of OFFICE_A).
    R("GET", "/api/v1/network", only(COORDS)),
    R("GET", "/api/v1/network", only(OFFICE_A), variant="county A", params=lambda w: {"node_id": w.county_a}),
    R("GET", "/api/v1/network/rooms", only(COORDS)),
    R("POST", "/api/v1/rooms/{room_id}/heartbeat", write({"room"})),  # only the room's own kiosk account
    R("GET", "/network", only(COORDS)),
    R("GET", "/network", only(OFFICE_A), variant="county A", params=lambda w: {"node_id": w.county_a}),
    R("GET", "/network/live", only(COORDS)),
    R("POST", "/kiosk/heartbeat", write({"room"})),
    R("POST", "/self-test/result", write({"room"}), json=True, body={"camera": True, "network": True}),
    # -- rows: demo (anchor; rows of this area go right below) --
    # -- rows: lists (anchor; rows of this area go right below) --
    # -- rows: sms --
    R("POST", "/matters/{matter_id}/receipt.pdf", write(OFFICE_A), body=lambda w: {"code": w.code}),
    R("GET", "/matters/{matter_id}/receipt.pdf", only(MATTER_A)),
    R("GET", "/sessions/{session_id}/reception-notice.pdf", only(MATTER_A | SEEN)),
    # -- rows: online requests (anchor; rows of this area go right below) --
    # The public side answers everyone alike (codes, requests, petitions: past any role check, whatever the input
    # makes of it: a refused code, a closed window, a rate limit); the queue is for coordinators over its node
    # (404 for an unknown request once past the role).
    R("POST", "/api/v1/public/online/codes", public(ACCESS),
      body=lambda w: {"purpose": "reception", "number": w.number, "code": w.code}),
    R("POST", "/api/v1/public/online/intake/codes", public(ACCESS), body={"phone": "13800138009"}),
    R("POST", "/api/v1/public/online/review", public(ACCESS),
      body=lambda w: {"number": w.number, "code": w.code, "challenge": "x", "sms_code": "123456"}),
    R("GET", "/api/v1/public/online/rooms", public(ACCESS), params=lambda w: {"number": w.number, "code": w.code}),
    R("POST", "/api/v1/public/online/reception", public(ACCESS),
      body=lambda w: {"number": w.number, "code": w.code, "challenge": "x", "sms_code": "123456",
                      "days": ["2026-03-04"], "room_id": w.room_id}),
    R("GET", "/api/v1/public/online/places", public(200)),
    R("POST", "/api/v1/public/online/intake", public(ACCESS), files={"challenge": (None, "x")}),
    R("GET", "/api/v1/online-requests", only(COORDS)),
    R("GET", "/api/v1/online-requests/{request_id}", only(COORDS, 404), at={"request_id": "no_hearing"}),
    R("POST", "/api/v1/online-requests/{request_id}/approve", only(COORDS, 404), at={"request_id": "no_hearing"}),
    R("POST", "/api/v1/online-requests/{request_id}/refuse", only(COORDS, 404), at={"request_id": "no_hearing"},
      body={"reason": "x"}),
    R("POST", "/api/v1/online-requests/{request_id}/register", only(COORDS, 404), at={"request_id": "no_hearing"},
      body={"category": "wages"}),
    R("GET", "/api/v1/online-requests/{request_id}/files/{sha256}", only(COORDS, 404),
      at={"request_id": "no_hearing", "sha256": "no_gallery"}),
    R("GET", "/online/review", public(200)),
    R("POST", "/online/review/code", public(ACCESS), body=lambda w: {"number": w.number, "code": w.code}),
    R("POST", "/online/review", public(ACCESS),
      body=lambda w: {"number": w.number, "code": w.code, "challenge": "x", "sms_code": "123456"}),
    R("GET", "/online/reception", public(200)),
    R("POST", "/online/reception/code", public(ACCESS), body=lambda w: {"number": w.number, "code": w.code}),
    R("POST", "/online/reception", public(ACCESS),
      body=lambda w: {"number": w.number, "code": w.code, "challenge": "x", "sms_code": "123456"}),
    R("GET", "/online/intake", public(200)),
    R("POST", "/online/intake/code", public(ACCESS), body={"phone": "13800138009"}),
    R("POST", "/online/intake", public(ACCESS), body={"phone": "13800138009", "challenge": "x"}),
    R("GET", "/online-requests", only(COORDS)),
    R("GET", "/online-requests/badge", only(COORDS)),
    R("GET", "/online-requests/{request_id}", only(COORDS, 404), at={"request_id": "no_hearing"}),
    R("POST", "/online-requests/{request_id}/approve", only(COORDS, 404), at={"request_id": "no_hearing"}),
    R("POST", "/online-requests/{request_id}/refuse", only(COORDS, 404), at={"request_id": "no_hearing"},
      body={"reason": "x"}),
    R("POST", "/online-requests/{request_id}/register", only(COORDS, 404), at={"request_id": "no_hearing"}),
    R("GET", "/online-requests/{request_id}/files/{sha256}", only(COORDS, 404),
      at={"request_id": "no_hearing", "sha256": "no_gallery"}),
    # -- rows: home join (anchor; rows of this area go right below) --
    # 手机视频接访: coordinators managing the session send a seat its link; the link's pages answer an unknown link
    # with the same refusal page for everyone (the phone's flow: tests/calls/test_home_join_pages.py).
    R("POST", "/api/v1/sessions/{session_id}/home-links", write(MANAGERS),
      body=lambda w: {"participant_id": w.seats["petitioner"]}),
    R("GET", "/api/v1/sessions/{session_id}/home-links", only(MANAGERS)),
    R("POST", "/sessions/{session_id}/home-links", write(MANAGERS),
      body=lambda w: {"participant_id": w.seats["petitioner"]}),
    R("GET", "/calls/{session_id}/home-seats", only(SEEN)),
    R("GET", "/home/{token}", public(404), at={"token": "no_gallery"}),
    R("POST", "/home/{token}/code", public(404), at={"token": "no_gallery"}),
    R("POST", "/home/{token}/verify", public(404), at={"token": "no_gallery"}, body={"code": "123456", "agree": "yes"}),
    # -- rows: integration feed (anchor; rows of this area go right below) --
    # The feed is province-wide: coordinators and administrators of the province node only (no integration role).
    R("GET", "/api/v1/integration/changes", only({"admin", "prov"})),
    R("GET", "/api/v1/integration/changes", only({"admin", "prov"}), variant="from a cursor",
      params={"after": "1", "limit": 10}),
    # -- rows: scale (anchor; rows of this area go right below) --
    # -- rows: deployment (anchor; rows of this area go right below) --
]

# Path parameters → the world's object.
DEFAULT_AT = {"session_id": "session", "matter_id": "matter_id", "task_id": "task", "document_id": "document",
              "attachment_id": "attachment", "recording_id": "recording", "plan_id": "plan", "node_id": "county_a",
              "leader_id": "leader_a", "room_id": "room_id", "number": "number", "person_id": "leader_a",
              "hearing_id": "hearing", "recusal_id": "recusal", "entry_id": "roster_entry",
              "key": "no_gallery", "petitioner_id": "petitioner"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def expected(row: Row, role: str) -> Any:
    """The row's expectation for ROLE; signed out: 401 on the API, 303 to /login on pages (a refusal for writes)."""
    if role in row.expect:
        return row.expect[role]
    if role == "anon":
        return 401 if is_api(row.path) else REFUSED if row.method in WRITES else 303
    raise AssertionError(f"{row.id} has no expectation for {role}")


def _flat(app) -> list:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazily included routers: app.routes is flat already
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route of the app; a mount counts as GET, a WebSocket as WS."""
    out = set()
    for route in _flat(app):
        if isinstance(getattr(route, "original_route", route), Mount):
            out.add(("GET", route.path))
        elif route.methods:
            out.update((m, route.path) for m in route.methods if m != "HEAD")
        else:
            out.add(("WS", route.path))
    return out


# ---- the world -------------------------------------------------------------------------------------------------------

def _snapshot(db) -> sqlite3.Connection:
    copy = sqlite3.connect(":memory:", check_same_thread=False)
    with db.engine.connect() as connection:
        connection.connection.driver_connection.backup(copy)
    return copy


def _restore(db, copy: sqlite3.Connection) -> None:
    with db.engine.connect() as connection:
        copy.backup(connection.connection.driver_connection)


def add_hearing(db, org, matter_id: int) -> tuple[int, int, int, int, int]:
    """A decided hearing on county A's matter: leader_a chairs, coord_a records, the hearing member sits on the panel
    (from county A's roster) and a 回避 request against that member is pending; its ids and the member's, recorder's."""
    from vreception.models.hearings import Hearing, HearingStage, HearingState, PanelMember, Recusal, RosterEntry

    n, p = org.nodes, org.people
    member, recorder = p["hearing"].id, p["coord_county"].id
    with db.transaction() as session:
        hearing = Hearing(matter_id=matter_id, node_id=n["county"].id, stage=HearingStage.handling,
                          state=HearingState.decided, request_reason="事实争议", proposed_by=recorder,
                          decision_due=date(2026, 3, 20), decided_by=recorder, chair_id=p["leader_county"].id,
                          recorder_id=recorder)
        hearing.panel.append(PanelMember(person_id=member))
        hearing.recusals.append(Recusal(against_id=member, requested_by="张三", reason="利害关系"))
        entry = RosterEntry(node_id=n["county"].id, person_id=member, profession="律师")
        session.add_all([hearing, entry])
        session.flush()
        return hearing.id, hearing.recusals[0].id, entry.id, member, recorder


def petitioner_of(db, matter_id: int) -> int:
    """The first petitioner of a matter."""
    from sqlalchemy import select

    from vreception.models import MatterPetitioner

    with db.transaction() as session:
        return session.scalars(select(MatterPetitioner.petitioner_id)
                               .where(MatterPetitioner.matter_id == matter_id)).first() or 0


def make_world(db, tmp_path):
    """The app on DB with the role × route scene, one API token and one signed-in browser per role."""
    from vreception.app import create_app

    settings = app_settings(db, tmp_path / "var")
    app = create_app(settings, db)
    org = build_org(db)
    world = build_world(db, org, settings)
    base = TestClient(app)
    base.__enter__()
    api = {role: {} for role in ROLES}
    pages = {"anon": page_client(app, None)}
    for role, account in ACCOUNTS.items():
        username = world.usernames[account]
        api[role] = login(base, username)
        pages[role] = page_client(app, username)
    n, p = org.nodes, org.people
    ids = dict(matter_id=world.scene.matter, number=world.scene.number, code=world.scene.code,
               session=world.scene.session, task=world.scene.task, attachment=world.scene.attachment,
               document=world.scene.document, plan=world.scene.plan, finished=world.finished,
               recording=world.recording, seats=world.seats, county_a=n["county"].id, county_b=n["county2"].id,
               township=n["township"].id, dept_a=n["county_dept"].id, dept_b=n["county2_dept"].id,
               room_id=org.rooms["township"].id, room_b=org.rooms["township2"].id, leader_a=p["leader_county"].id,
               leader_b=p["leader_county2"].id)
    w = SimpleNamespace(**ids)
    w.no_gallery = "no-such-gallery"  # the gallery rows: an unknown key is a 404 for everyone
    w.no_hearing = 999_999  # the "unknown" rows of hearings: no such hearing, refused before or 404 after the role gate
    w.hearing, w.recusal, w.roster_entry, w.member, w.recorder = add_hearing(db, org, w.matter_id)
    w.petitioner = petitioner_of(db, w.matter_id)
    feed = base.get(f"/api/v1/calendars/leaders/{w.leader_a}/feed", headers=api["leader_a"])
    w.leader_feed = parse_qs(urlparse(feed.json()["url"]).query)["token"][0]
    feed = base.get(f"/api/v1/calendars/rooms/{w.room_id}/feed", headers=api["room"])
    w.room_feed = parse_qs(urlparse(feed.json()["url"]).query)["token"][0]
    return SimpleNamespace(app=app, db=db, settings=settings, org=org, w=w, base=base, api=api, pages=pages,
                           usernames={role: world.usernames[a] for role, a in ACCOUNTS.items()})


@pytest.fixture(scope="module")
def world(_migrated, tmp_path_factory, request):
    """The scene on SQLite, built once for the module; writes are undone by restoring a snapshot."""
    db = _migrated_database("sqlite", _migrated, tmp_path_factory, request)
    reset(db)
    built = make_world(db, tmp_path_factory.mktemp("world"))
    built.pristine = _snapshot(db)
    yield built
    built.base.__exit__(None, None, None)
    clock.reset()


def _url(row: Row, w) -> str:
    def fill(match):
        name = match.group(1)
        return str(getattr(w, {**DEFAULT_AT, **(row.at or {})}.get(name, name)))
    path = re.sub(r"\{(\w+)(?::\w+)?\}", fill, row.path)
    return path + "/app.css" if row.path == "/static" else path


def _value(spec, w):
    return spec(w) if callable(spec) else spec


def call(world, row: Row, role: str):
    """Send ROW's request as ROLE: the API with the role's token, pages with the role's browser."""
    w = world.w
    url, params, body = _url(row, w), _value(row.params, w), _value(row.body, w)
    if is_api(row.path) or row.path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz"):
        kw: dict = {"params": params, "headers": world.api[role]}
        if row.fresh and role != "anon":
            kw["headers"] = login(world.base, world.usernames[role])
        if row.path == "/api/v1/auth/login":
            body = {"username": world.usernames.get(role, "nobody"), "password": PASSWORD if role != "anon" else "x"}
        if row.method in WRITES:
            kw["files" if row.files else "json"] = row.files or body
        return world.base.request(row.method, url, follow_redirects=False, **kw)
    client = world.pages[role]
    if row.fresh:
        client = page_client(world.app, None)
        if role != "anon" and row.path != "/login":
            client = page_client(world.app, world.usernames[role])
    if row.method == "GET":
        return client.get(url, params=params, follow_redirects=False)
    token = csrf_token(client)
    form = dict(body or {})
    if row.path == "/login":
        form = {"username": world.usernames.get(role, "nobody"), "password": PASSWORD if role != "anon" else "x"}
    if row.json:
        return client.request(row.method, url, json=form, params=params, headers={"x-csrf-token": token},
                              follow_redirects=False)
    return client.request(row.method, url, data={**form, "csrf_token": token}, params=params,
                          headers={"x-csrf-token": token}, follow_redirects=False)


def csrf_token(client: TestClient) -> str:
    """The browser's form token, fetched once per CSRF cookie."""
    nonce = client.cookies.get(CSRF_COOKIE)
    cached = _CSRF.get(id(client))
    if nonce is None or cached is None or cached[0] != nonce:
        token = csrf_of(client.get("/lookup").text)
        cached = _CSRF[id(client)] = (client.cookies.get(CSRF_COOKIE), token)
    return cached[1]


_CSRF: dict[int, tuple[str | None, str]] = {}


def _refused(response) -> bool:
    location = response.headers.get("location", "")
    return response.status_code in (401, 403) or (response.status_code == 303 and location.endswith("/login"))


def matches(want: Any, response) -> bool:
    if want == ACCESS:
        return not _refused(response) and response.status_code < 500
    if want == REFUSED:
        return _refused(response)
    if isinstance(want, tuple):
        return response.status_code in want
    return response.status_code == want


CASES = [pytest.param(row, role, id=f"{row.id} | {role}") for row in TABLE if row.method != "WS" for role in ROLES]


# ---- the tests -------------------------------------------------------------------------------------------------------

def test_the_table_lists_every_route_of_the_app(world):
    """A new route fails here until it has a row; a row whose route is gone fails too."""
    listed = {row.key for row in TABLE}
    routes = app_routes(world.app)
    assert sorted(routes - listed) == [], "routes without a row in TABLE"
    assert sorted(listed - routes) == [], "rows of TABLE whose route the app no longer has"


def test_every_row_names_every_role():
    for row in TABLE:
        if row.method != "WS":
            assert set(row.expect) <= set(ROLES), row.id
            for role in ROLES:
                expected(row, role)


@pytest.mark.parametrize("row, role", CASES)
def test_role_route(world, row, role):
    want = expected(row, role)
    try:
        response = call(world, row, role)
    finally:
        if row.method in WRITES or row.fresh:
            _restore(world.db, world.pristine)
    assert matches(want, response), (f"{row.id} as {role}: expected {want}, got {response.status_code} "
                                     f"{response.headers.get('location', '')} {response.text[:300]}")


def test_signaling_socket_refuses_a_connection_without_a_join_token(world):
    with pytest.raises(WebSocketDisconnect):
        with world.base.websocket_connect(f"/ws/sessions/{world.w.session}") as socket:
            socket.receive_json()


def test_township_coordinator_runs_the_lobby_without_the_matter(world):
    """The township coordinator manages the session only through its room: no desk, no demands, no petitioner."""
    response = world.pages["town"].get(f"/calls/{world.w.session}", follow_redirects=False)
    if response.status_code == 403:
        return  # refusing the page outright also keeps the matter closed
    assert response.status_code == 200
    # The lobby lists who waits (the session's participants, by name): look past the call's configuration.
    shown = re.sub(r'<script type="application/json" id="call-config">.*?</script>', "", response.text, flags=re.S)
    assert 'id="desk"' not in shown and "拖欠三个月工资" not in shown and "张三" not in shown


def test_a_task_goes_only_to_a_unit_inside_the_assigning_office(world):
    """County A's coordinator cannot give county B's department a task on A's matter, by the API or in a call."""
    w, pages = world.w, world.pages
    try:
        late = "2026-03-20T17:30:00+08:00"
        api = world.base.post(f"/api/v1/matters/{w.matter_id}/tasks", headers=world.api["coord_a"],
                              json={"unit_node_id": w.dept_b, "title": "越界交办", "due_at": late})
        token = csrf_token(pages["coord_a"])
        form = {"unit_node_id": w.dept_b, "title": "越界交办", "due_on": "2026-03-20", "due_day": "2026-03-20",
                "csrf_token": token}
        in_call = pages["coord_a"].post(f"/calls/{w.session}/tasks", data=form, headers={"x-csrf-token": token})
        on_page = pages["coord_a"].post(f"/matters/{w.matter_id}/tasks", data=form, follow_redirects=False)
        answers = {"api": api.status_code, "call": in_call.status_code, "page": on_page.status_code}
        # Whatever was answered, county B's handler still may not read the matter or its recording.
        handler_b = world.api["handler_b"]
        reads = {"matter": world.base.get(f"/api/v1/matters/{w.matter_id}", headers=handler_b).status_code,
                 "recording": world.base.get(f"/api/v1/recordings/{w.recording}", headers=handler_b).status_code,
                 "media": world.base.get(f"/api/v1/recordings/{w.recording}/media", headers=handler_b).status_code}
    finally:
        _restore(world.db, world.pristine)
    assert answers == {"api": 403, "call": 403, "page": 403}
    assert reads == {"matter": 403, "recording": 403, "media": 403}


# ---- PostgreSQL: the cross-subtree reads -----------------------------------------------------------------------------

CROSS = ("coord_b", "leader_b", "handler_b", "prov", "city")
CROSS_PATHS = {"/api/v1/matters/{matter_id}", "/api/v1/tasks/{task_id}", "/api/v1/documents/{document_id:int}",
               "/api/v1/recordings/{recording_id}", "/api/v1/sessions/{session_id}", "/matters/{matter_id}",
               "/tasks/{task_id}", "/documents/{document_id}.html", "/calls/{session_id}", "/sessions/{session_id}"}


def test_cross_subtree_reads_on_postgresql(_migrated, tmp_path_factory, request):
    """County B's people are refused county A's matter, task, notice, recording and session; the city's and
    the province's coordinators read them (PostgreSQL)."""
    db = _migrated_database("postgresql", _migrated, tmp_path_factory, request)
    reset(db)
    built = make_world(db, tmp_path_factory.mktemp("pg_world"))
    try:
        wrong = []
        for row in TABLE:
            if row.method == "GET" and row.path in CROSS_PATHS:
                for role in CROSS:
                    want, got = expected(row, role), call(built, row, role)
                    if not matches(want, got):
                        wrong.append((row.id, role, want, got.status_code))
    finally:
        built.base.__exit__(None, None, None)
        clock.reset()
    assert wrong == []
