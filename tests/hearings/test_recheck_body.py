"""A hearing held during 复核 is the 复核 body's (the province, two levels above the county that replied): it proposes,
decides, chairs from its own leaders, composes from its roster and books; the county stays a party."""

from __future__ import annotations

from tests.factories import FreshHeaders
from tests.hearings.helpers import FAR, accepted, booking, members, province_staff, roster
from vreception.models import Document


def _post(client, headers, path, body=None, method="POST"):
    return client.request(method, f"/api/v1/{path}", headers=headers, json=body)


def test_the_recheck_body_proposes_decides_chairs_and_books_the_hearing(client, org, db):
    matter, county = accepted(client, org, db, recheck=True)
    province = province_staff(client, org, db)
    city = FreshHeaders(client, "coord.city")
    mid = matter["id"]
    # The county handled the matter and the city reviewed it: neither runs the 复核 hearing.
    for other in (county, city):
        assert _post(client, other, f"matters/{mid}/hearings", {"reason": "事实争议"}).status_code == 403
    proposed = _post(client, province, f"matters/{mid}/hearings", {"by_petitioner": True, "reason": "请求听证"})
    assert proposed.status_code == 201, proposed.text
    hid = proposed.json()["id"]
    assert proposed.json()["stage"] == "recheck" and proposed.json()["node_id"] == org.nodes["province"].id
    assert proposed.json()["node_name"] == "青岚省"
    assert _post(client, county, f"hearings/{hid}/decision", {"hold": True}).status_code == 403
    decided = _post(client, province, f"hearings/{hid}/decision", {"hold": True})
    assert decided.status_code == 200 and decided.json()["decided_by"] == org.people["coord_province"].id
    with db.transaction() as session:
        number = session.get(Document, decided.json()["decision_document_id"]).number
    assert number.startswith("青岚省信")  # issued in the name of the body holding the hearing

    # The chair is a leader of the province itself: not of the county or the city whose decisions it reviews.
    recorder = org.people["clerk_province"].id
    for leader in ("leader_county", "leader_city"):
        refused = _post(client, province, f"hearings/{hid}/chair",
                        {"chair_id": org.people[leader].id, "recorder_id": recorder}, "PUT")
        assert refused.status_code == 422 and refused.json()["code"] == "chair_conflict", leader
    assert _post(client, county, f"hearings/{hid}/chair", {"chair_id": org.people["leader_province"].id,
                                                           "recorder_id": recorder}, "PUT").status_code == 403
    chaired = _post(client, province, f"hearings/{hid}/chair",
                    {"chair_id": org.people["leader_province"].id, "recorder_id": recorder}, "PUT")
    assert chaired.status_code == 200 and chaired.json()["chair"]["id"] == org.people["leader_province"].id

    # The panel comes from the province's roster (or one above it): the county's roster is not the province's.
    roster(client, org, county, "county")
    three = members(org, "hearing", "hearing2", "hearing3")
    off_roster = _post(client, province, f"hearings/{hid}/panel", three, "PUT")
    assert off_roster.status_code == 422 and off_roster.json()["code"] == "panel_not_on_roster"
    assert client.post("/api/v1/hearing-roster", headers=county, json={
        "node_id": org.nodes["province"].id, "person_id": org.people["hearing"].id}).status_code == 403
    roster(client, org, province, "province")
    assert _post(client, county, f"hearings/{hid}/panel", three, "PUT").status_code == 403
    assert _post(client, province, f"hearings/{hid}/panel", three, "PUT").status_code == 200

    # The province books; the county's handler answers as a party, and the county still reads the hearing.
    assert _post(client, county, f"hearings/{hid}/booking", booking(org, FAR)).status_code == 403
    booked = _post(client, province, f"hearings/{hid}/booking", booking(org, FAR))
    assert booked.status_code == 201, booked.text
    seats = client.get(f"/api/v1/sessions/{booked.json()['session_id']}", headers=province).json()["participants"]
    assert {(p["role"], p["person_id"]) for p in seats} >= {
        ("chair", org.people["leader_province"].id), ("handler", org.people["handler"].id)}
    assert client.get(f"/api/v1/hearings/{hid}", headers=county).status_code == 200
    assert _post(client, county, f"hearings/{hid}/publicity", {"public": True}, "PUT").status_code == 403


def test_a_hearing_while_handled_stays_with_the_handling_body(client, org, db):
    matter, county = accepted(client, org, db)
    province_staff(client, org, db)
    proposed = _post(client, county, f"matters/{matter['id']}/hearings", {})
    assert proposed.status_code == 201 and proposed.json()["node_id"] == org.nodes["county"].id
    hid = proposed.json()["id"]
    _post(client, county, f"hearings/{hid}/decision", {"hold": True})
    # A province leader is no leader of the county office.
    refused = _post(client, county, f"hearings/{hid}/chair", {"chair_id": org.people["leader_province"].id,
                                                              "recorder_id": org.people["clerk"].id}, "PUT")
    assert refused.status_code == 422 and refused.json()["code"] == "chair_conflict"
