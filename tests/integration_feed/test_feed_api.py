"""GET /api/v1/integration/changes: in order, resumable, idempotent; province accounts only, their subtree only."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import act, add_node, add_person, id_number, login, matter_body, register
from vreception.cases import register as registration
from vreception.cases.identity import Protector
from vreception.models.integration import IntegrationChange

URL = "/api/v1/integration/changes"


def pull(client, headers, after=None, limit=None, expect=200):
    params = {k: v for k, v in {"after": after, "limit": limit}.items() if v is not None}
    response = client.get(URL, headers=headers, params=params)
    assert response.status_code == expect, response.text
    return response.json()


def all_ids(db) -> list[int]:
    with db.transaction() as s:
        return list(s.scalars(select(IntegrationChange.id).order_by(IntegrationChange.id)))


def test_pages_resume_from_their_cursor_and_the_same_cursor_gives_the_same_page(client, db, org):
    matter, coord = register(client, org)
    act(client, coord, matter["id"], "accept")
    register(client, org, serial=2, headers=coord)
    province = login(client, "coord.province")
    ids = all_ids(db)
    assert len(ids) == 4  # registered, 受理告知书, accepted, registered

    first = pull(client, province, limit=3)
    assert [c["id"] for c in first["items"]] == ids[:3] and first["more"] is True
    assert pull(client, province, limit=3) == first  # idempotent
    second = pull(client, province, after=first["next"], limit=3)
    assert [c["id"] for c in second["items"]] == ids[3:] and second["more"] is False
    assert second["next"] == str(ids[-1])
    assert pull(client, province, after=first["next"], limit=3) == second
    # Nothing new: an empty page and the same cursor.
    empty = pull(client, province, after=second["next"])
    assert empty == {"items": [], "next": second["next"], "more": False}
    # A new change appears after the cursor, and the full first page is unchanged.
    act(client, coord, matter["id"], "reply", outcome="support", reason="经核实")
    fresh = pull(client, province, after=second["next"])
    assert [(c["kind"], c["payload"].get("opinion", {}).get("name")) for c in fresh["items"]] == [
        ("document.issued", "信访处理意见书"), ("matter.state", None)]
    assert pull(client, province, limit=3) == first
    item = first["items"][0]
    assert item["matter_number"] == matter["number"] and item["kind"] == "matter.registered"
    assert set(item) == {"id", "matter_id", "matter_number", "kind", "occurred_at", "recorded_at", "backfilled",
                         "payload"}
    assert item["payload"] == {"state": "registered", "registered_on": item["payload"]["registered_on"]}


def test_only_province_coordinators_and_administrators_pull(client, org):
    register(client, org)
    for username in ("coord.province", "admin"):
        assert len(pull(client, login(client, username))["items"]) == 1
    for username in ("coord.county", "leader.county", "handler", "room.township", "hearing"):
        refused = pull(client, login(client, username), expect=403)
        assert refused["code"] == "forbidden" and "省级" in refused["detail"]
    assert client.get(URL).status_code == 401


def test_bad_cursors_and_limits_are_refused(client, org):
    headers = login(client, "coord.province")
    for params in ({"after": "abc"}, {"after": "-1"}, {"after": "1" * 13}, {"limit": 0}, {"limit": 501}):
        response = client.get(URL, headers=headers, params=params)
        assert response.status_code == 422, params
        assert response.json()["code"] == "invalid"


def test_a_province_receives_only_its_own_subtree(client, db, org, settings):
    register(client, org)
    with db.transaction() as s:
        add_node(s, org, "province2", "590000", "白云省", "province")
        add_person(s, org, "coord_p2", "coordinator", "province2")
        registration.register(db=s, protector=Protector(settings.effective_secret_key()),
                              petitioners=[{"name": "王五", "id_number": id_number(9), "phone": "13900139000"}],
                              demands=[{"summary": "征地补偿", "category": "wages"}],
                              origin_node_id=org.nodes["province2"].id, handling_node_id=org.nodes["province2"].id,
                              channel="video", actor_id=org.people["coord_p2"].id)
    mine = pull(client, login(client, "coord.province"))["items"]
    theirs = pull(client, login(client, "coord.p2"))["items"]
    assert [c["matter_number"][:6] for c in mine] == ["580102"]
    assert [c["matter_number"][:6] for c in theirs] == ["590000"]
    # Province 2's cursor passed province 1's change without showing it.
    assert int(pull(client, login(client, "coord.p2"))["next"]) == max(all_ids(db))


def test_an_accusation_is_not_sent_to_a_puller_who_works_inside_the_accused_unit(client, db, org):
    from vreception import people

    body = matter_body(org, accusation=True, accused_node_id=org.nodes["county_dept"].id)
    coord = login(client, "coord.county")
    response = client.post("/api/v1/matters", headers=coord, json=body)
    assert response.status_code == 201, response.text
    assert len(pull(client, login(client, "coord.province"))["items"]) == 1
    with db.transaction() as s:
        person = add_person(s, org, "coord_twice", "coordinator", "province")
        people.assign_role(db=s, person=person, role="handler", node_id=org.nodes["county_dept"].id)
    assert pull(client, login(client, "coord.twice"))["items"] == []
