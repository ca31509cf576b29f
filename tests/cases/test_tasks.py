"""Follow-up tasks: assignment, the unit's work, the office's check, scoping, attachments, overdue."""

from __future__ import annotations

from tests.cases.helpers import at, travel
from tests.factories import FreshHeaders, register


def _task(client, org, headers, matter_id, due=None, title="核实工资拖欠情况并督促支付"):
    response = client.post(f"/api/v1/matters/{matter_id}/tasks", headers=headers, json={
        "unit_node_id": org.nodes["county_dept"].id, "title": title,
        "due_at": (due or at(2026, 3, 20, 17)).isoformat()})
    assert response.status_code == 201, response.text
    return response.json()


def test_task_life_and_timeline(client, org):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    task = _task(client, org, office, matter["id"])
    assert task["state"] == "assigned" and not task["overdue"]
    unit = FreshHeaders(client, "handler")
    mine = client.get("/api/v1/tasks", headers=unit).json()["items"]
    assert [t["id"] for t in mine] == [task["id"]]
    url = f"/api/v1/tasks/{task['id']}"
    for action, state in (("accept", "accepted"), ("start", "in_progress")):
        assert client.patch(url, headers=unit, json={"action": action}).json()["state"] == state
    assert client.patch(url, headers=unit, json={"action": "report"}).status_code == 422
    reported = client.patch(url, headers=unit, json={"action": "report", "text": "已督促村委会于3月15日支付全部工资。"})
    assert reported.json()["state"] == "reported"
    # The unit cannot verify its own report; the office can.
    assert client.patch(url, headers=unit, json={"action": "verify"}).status_code == 403
    back = client.patch(url, headers=office, json={"action": "send_back", "text": "请附付款凭证"})
    assert back.json()["state"] == "sent_back"
    client.patch(url, headers=unit, json={"action": "report", "text": "已附凭证。"})
    assert client.patch(url, headers=office, json={"action": "verify"}).json()["state"] == "verified"
    assert client.patch(url, headers=office, json={"action": "close"}).json()["state"] == "closed"
    wrong = client.patch(url, headers=office, json={"action": "verify"})
    assert wrong.status_code == 409 and wrong.json()["code"] == "illegal_transition"
    timeline = client.get(f"/api/v1/matters/{matter['id']}", headers=office).json()["timeline"]
    assert [e["action"] for e in timeline if e["action"].startswith("task.")] == [
        "task.assigned", "task.accept", "task.start", "task.report", "task.send_back", "task.report", "task.verify",
        "task.close"]


def test_overdue_is_derived_from_the_clock(client, org):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    task = _task(client, org, office, matter["id"])
    travel(2026, 3, 21)
    overdue = client.get("/api/v1/tasks?overdue=true", headers=office).json()["items"]
    assert [t["id"] for t in overdue] == [task["id"]] and overdue[0]["overdue"]
    assert client.get("/api/v1/tasks?overdue=false", headers=office).json() == {"items": [], "total": 0, "next": None}


def test_handler_sees_only_tasks_of_their_unit(client, org, db):
    from vreception import org as org_service

    travel(2026, 3, 2)
    matter, office = register(client, org)
    _task(client, org, office, matter["id"])
    with db.transaction() as session:
        other = org_service.create_node(db=session, code="580102-GAJ", name="城东区公安分局", level="county",
                                        kind="department", parent_id=org.nodes["county"].id)
    client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office, json={
        "unit_node_id": other.id, "title": "调查", "due_at": at(2026, 3, 20).isoformat()})
    unit = FreshHeaders(client, "handler")
    assert len(client.get("/api/v1/tasks", headers=unit).json()["items"]) == 1
    assert client.get("/api/v1/tasks", headers=office).json()["total"] == 2
    # The handler may read the matter of its own task (to do the work) but nothing else.
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=unit).status_code == 200
    outsider = FreshHeaders(client, "coord.county2")
    assert client.get("/api/v1/tasks", headers=outsider).json()["items"] == []


def test_bad_tasks_are_refused(client, org):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    url = f"/api/v1/matters/{matter['id']}/tasks"
    past = client.post(url, headers=office, json={"unit_node_id": org.nodes["county_dept"].id, "title": "x",
                                                  "due_at": at(2026, 3, 1).isoformat()})
    assert past.status_code == 422 and past.json()["field"] == "due_at"
    empty = client.post(url, headers=office, json={"unit_node_id": org.nodes["county_dept"].id, "title": " ",
                                                   "due_at": at(2026, 3, 9).isoformat()})
    assert empty.status_code == 422 and empty.json()["field"] == "title"
    nowhere = client.post(url, headers=office, json={"unit_node_id": 9999, "title": "x",
                                                     "due_at": at(2026, 3, 9).isoformat()})
    assert nowhere.status_code == 404
    handler = client.post(url, headers=FreshHeaders(client, "handler"), json={
        "unit_node_id": org.nodes["county_dept"].id, "title": "x", "due_at": at(2026, 3, 9).isoformat()})
    assert handler.status_code == 403


def test_attachments_are_bounded_hashed_and_audited(client, org, settings):
    settings.max_upload_bytes = 2048
    travel(2026, 3, 2)
    matter, office = register(client, org)
    task = _task(client, org, office, matter["id"])
    unit = FreshHeaders(client, "handler")
    url = f"/api/v1/tasks/{task['id']}/attachments"
    ok = client.post(url, headers=unit, files={"file": ("凭证.txt", "已付款".encode(), "text/plain")})
    assert ok.status_code == 201 and ok.json()["bytes"] == 9
    big = client.post(url, headers=unit, files={"file": ("big.bin", b"x" * 4096, "application/octet-stream")})
    assert big.status_code == 422 and big.json()["field"] == "file"
    sneaky = client.post(url, headers=unit, files={"file": ("../../etc/passwd", b"root", "text/plain")})
    assert sneaky.status_code == 201 and "/" not in sneaky.json()["filename"]
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=office).json()
    assert len(detail["attachments"]) == 2
    download = client.get(detail["attachments"][0]["url"], headers=office)
    assert download.content == "已付款".encode()
    outsider = FreshHeaders(client, "coord.county2")
    assert client.get(detail["attachments"][0]["url"], headers=outsider).status_code == 403


def test_a_task_goes_only_to_a_unit_inside_the_assigners_subtree(client, org):
    """Hardening High 1: the county office cannot hand a task (and so the matter) to another county's unit."""
    travel(2026, 3, 2)
    matter, office = register(client, org)
    elsewhere = client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office, json={
        "unit_node_id": org.nodes["township2"].id, "title": "核实", "due_at": at(2026, 3, 20).isoformat()})
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "forbidden"
    assert client.get("/api/v1/tasks", headers=FreshHeaders(client, "coord.county2")).json()["items"] == []
    # The city leader covers the matter and both counties, so the same unit is theirs to task.
    city = client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=FreshHeaders(client, "leader.city"), json={
        "unit_node_id": org.nodes["township2"].id, "title": "核实", "due_at": at(2026, 3, 20).isoformat()})
    assert city.status_code == 201, city.text


def test_task_list_is_paged_after_filtering(client, org):
    travel(2026, 3, 2)
    matter, office = register(client, org)
    made = [_task(client, org, office, matter["id"], due=at(2026, 3, 10 + i), title=f"任务{i}")["id"] for i in range(5)]
    travel(2026, 3, 12)  # the first two are overdue now
    first = client.get("/api/v1/tasks?limit=2", headers=office).json()
    assert [t["id"] for t in first["items"]] == made[:2] and first["total"] == 5 and first["next"]
    second = client.get(f"/api/v1/tasks?limit=2&cursor={first['next']}", headers=office).json()
    assert [t["id"] for t in second["items"]] == made[2:4] and second["total"] == 5
    last = client.get(f"/api/v1/tasks?limit=2&cursor={second['next']}", headers=office).json()
    assert [t["id"] for t in last["items"]] == made[4:] and last["next"] is None
    late = client.get("/api/v1/tasks?overdue=false&limit=2", headers=office).json()
    assert [t["id"] for t in late["items"]] == made[2:4] and late["total"] == 3
    for bad in ("limit=0", "limit=100000", "cursor=x", "cursor=-2"):
        refused = client.get(f"/api/v1/tasks?{bad}", headers=office)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid", bad


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def test_attachment_downloads_never_run_in_the_browser(app, client, org):
    """Hardening High 3: whatever the uploader claims, a download is inert unless its bytes are an image or PDF."""
    from tests.factories import page_client

    travel(2026, 3, 2)
    matter, office = register(client, org)
    task = _task(client, org, office, matter["id"])
    unit = FreshHeaders(client, "handler")
    url = f"/api/v1/tasks/{task['id']}/attachments"
    uploads = {"page.html": (b"<html><script>alert(document.cookie)</script></html>", "text/html"),
               "x.js": (b"fetch('/api/v1/matters').then(r => r.text()).then(alert)", "application/javascript"),
               "fake.png": (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/png"),
               "pic.txt": (PNG, "text/html"), "doc.pdf": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "text/html")}
    ids = {}
    for name, (data, content_type) in uploads.items():
        response = client.post(url, headers=unit, files={"file": (name, data, content_type)})
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    browser = page_client(app, "coord.county")
    for via, get in (("api", lambda i: client.get(f"/api/v1/attachments/{i}", headers=office)),
                     ("page", lambda i: browser.get(f"/attachments/{i}"))):
        for name, expected in (("page.html", None), ("x.js", None), ("fake.png", None), ("pic.txt", "image/png"),
                               ("doc.pdf", "application/pdf")):
            response = get(ids[name])
            assert response.status_code == 200 and response.content == uploads[name][0], (via, name)
            assert response.headers["x-content-type-options"] == "nosniff", (via, name)
            kind = response.headers["content-type"].split(";")[0]
            if expected is None:
                assert kind == "application/octet-stream", (via, name, kind)
                assert response.headers["content-disposition"].startswith("attachment;"), (via, name)
            else:
                assert kind == expected, (via, name, kind)


def test_what_the_list_shows_the_detail_opens(client, org):
    """A county office supervising its department sees a task the province gave it, but not the matter's files."""
    travel(2026, 3, 2)
    province = FreshHeaders(client, "coord.province")
    matter, _ = register(client, org, headers=province, handling_node_id=org.nodes["province"].id)
    task = _task(client, org, province, matter["id"])
    unit = FreshHeaders(client, "handler")
    client.post(f"/api/v1/tasks/{task['id']}/attachments", headers=unit,
                files={"file": ("凭证.txt", "已付款".encode(), "text/plain")})
    county = FreshHeaders(client, "coord.county")
    listed = client.get("/api/v1/tasks", headers=county).json()["items"]
    assert [t["id"] for t in listed] == [task["id"]]
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=county)
    assert detail.status_code == 200 and detail.json()["attachments"] == []
    assert client.patch(f"/api/v1/tasks/{task['id']}", headers=county, json={"action": "verify"}).status_code == 403
    files = client.get(f"/api/v1/tasks/{task['id']}", headers=province).json()["attachments"]
    assert client.get(files[0]["url"], headers=county).status_code == 403
    assert client.get(files[0]["url"], headers=unit).status_code == 200
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=county).status_code == 403


def test_the_task_page_list_is_paged_too(app, client, org, monkeypatch):
    import re

    from tests.factories import page_client
    from web.pages import tasks as task_pages

    monkeypatch.setattr(task_pages, "PAGE_SIZE", 1)
    travel(2026, 3, 2)
    matter, office = register(client, org)
    first, second = (_task(client, org, office, matter["id"], due=at(2026, 3, 10 + i))["id"] for i in range(2))
    browser = page_client(app, "handler")
    html = browser.get("/tasks").text
    assert f'data-task="{first}"' in html and f'data-task="{second}"' not in html and 'data-total="2"' in html
    following = re.search(r'href="(/tasks\?cursor=[^"]+)" data-next', html).group(1)
    html = browser.get(following).text
    assert f'data-task="{second}"' in html and f'data-task="{first}"' not in html and "data-next" not in html


def test_a_task_names_only_a_session_of_its_own_matter(client, org):
    matter, office = register(client, org)
    for session_id in (999999, 2**31 - 1):
        refused = client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office, json={
            "unit_node_id": org.nodes["county_dept"].id, "title": "核实", "due_at": "2030-01-01T10:00:00+08:00",
            "session_id": session_id})
        assert refused.status_code == 422 and refused.json()["field"] == "session_id", refused.text
