"""Follow-up tasks: assignment, the unit's work, the office's check, scoping, attachments, overdue."""

from __future__ import annotations

from tests.cases.helpers import FreshHeaders, at, register, travel


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
    mine = client.get("/api/v1/tasks", headers=unit).json()
    assert [t["id"] for t in mine] == [task["id"]]
    for action, state in (("accept", "accepted"), ("start", "in_progress")):
        assert client.patch(f"/api/v1/tasks/{task['id']}", headers=unit, json={"action": action}).json()["state"] == state
    assert client.patch(f"/api/v1/tasks/{task['id']}", headers=unit, json={"action": "report"}).status_code == 422
    reported = client.patch(f"/api/v1/tasks/{task['id']}", headers=unit,
                            json={"action": "report", "text": "已督促村委会于3月15日支付全部工资。"})
    assert reported.json()["state"] == "reported"
    # The unit cannot verify its own report; the office can.
    assert client.patch(f"/api/v1/tasks/{task['id']}", headers=unit, json={"action": "verify"}).status_code == 403
    back = client.patch(f"/api/v1/tasks/{task['id']}", headers=office, json={"action": "send_back", "text": "请附付款凭证"})
    assert back.json()["state"] == "sent_back"
    client.patch(f"/api/v1/tasks/{task['id']}", headers=unit, json={"action": "report", "text": "已附凭证。"})
    assert client.patch(f"/api/v1/tasks/{task['id']}", headers=office, json={"action": "verify"}).json()["state"] == "verified"
    assert client.patch(f"/api/v1/tasks/{task['id']}", headers=office, json={"action": "close"}).json()["state"] == "closed"
    wrong = client.patch(f"/api/v1/tasks/{task['id']}", headers=office, json={"action": "verify"})
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
    overdue = client.get("/api/v1/tasks?overdue=true", headers=office).json()
    assert [t["id"] for t in overdue] == [task["id"]] and overdue[0]["overdue"]
    assert client.get("/api/v1/tasks?overdue=false", headers=office).json() == []


def test_handler_sees_only_tasks_of_their_unit(client, org, db):
    from vreception import org as org_service

    travel(2026, 3, 2)
    matter, office = register(client, org)
    _task(client, org, office, matter["id"])
    with db.transaction() as session:
        other = org_service.create_node(session, code="580102-GAJ", name="城东区公安分局", level="county",
                                        kind="department", parent_id=org.nodes["county"].id)
    client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office, json={
        "unit_node_id": other.id, "title": "调查", "due_at": at(2026, 3, 20).isoformat()})
    unit = FreshHeaders(client, "handler")
    assert len(client.get("/api/v1/tasks", headers=unit).json()) == 1
    assert len(client.get("/api/v1/tasks", headers=office).json()) == 2
    # The handler may read the matter of its own task (to do the work) but nothing else.
    assert client.get(f"/api/v1/matters/{matter['id']}", headers=unit).status_code == 200
    outsider = FreshHeaders(client, "coord.county2")
    assert client.get("/api/v1/tasks", headers=outsider).json() == []


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
