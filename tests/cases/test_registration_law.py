"""Registration as the law sees a petitioner: citizens, legal persons and organisations; no ID number for a letter;
anonymous 检举控告 kept from the unit it accuses; representatives for visits only; the same person whatever the
wording; a petitioner's history; the registration fields."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.factories import id_number, login, matter_body, register
from vreception import clock
from vreception.auth.access import principal_for
from vreception.cases.confidential import accused_unit_excluded, not_accused
from vreception.cases.identity import credit_check_character, normalize_credit_code
from vreception.errors import Invalid
from vreception.models import Matter, Person, Petitioner

BANK = "91110000802100433B"  # a real, valid 统一社会信用代码
CO = "91440300708461136T"


def _post(client, headers, body):
    return client.post("/api/v1/matters", headers=headers, json=body)


def _letter(org, petitioners, **extra):
    body = matter_body(org, **{"channel": "letter", **extra})
    body["petitioners"] = petitioners
    return body


def _accusation(org, **extra):
    body = _letter(org, [], **{"accusation": True, "accused_node_id": org.nodes["county_dept"].id,
                                "accused_text": "城东区人社局某科长", "facts": "收受好处后违规审批补贴。", **extra})
    body["demands"] = [{"summary": "检举某科长违规审批补贴", "category": "wages"}]
    return body


def _count(db, model):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


# -- who may petition ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("channel, person", [
    ("letter", {"name": "王五", "address": "桃源镇幸福村3组12号"}),
    ("phone", {"name": "王五", "phone": "13900139000"}),
])
def test_a_letter_or_a_call_needs_no_id_number(client, org, channel, person):
    headers = login(client, "coord.county")
    response = _post(client, headers, _letter(org, [person], channel=channel))
    assert response.status_code == 201, response.text
    shown = response.json()["petitioners"][0]
    assert shown["name"] == "王五" and shown["kind"] == "citizen" and not shown["identified"]
    assert shown["id_number"] == ""
    assert shown["address"] == person.get("address", "")  # the office reads the address in full


@pytest.mark.parametrize("channel", ["video", "visit"])
def test_a_visit_still_needs_an_id_number(client, org, channel):
    headers = login(client, "coord.county")
    response = _post(client, headers, _letter(org, [{"name": "王五", "phone": "13900139000"}], channel=channel))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "petitioners.0.id_number"


def test_without_an_id_number_a_phone_or_an_address_is_needed(client, org, db):
    headers = login(client, "coord.county")
    before = _count(db, Matter)
    response = _post(client, headers, _letter(org, [{"name": "王五"}]))
    assert response.status_code == 422 and response.json()["field"] == "petitioners.0.phone"
    assert "电话或通信地址" in client.post("/api/v1/matters?lang=zh-CN", headers=headers,
                                       json=_letter(org, [{"name": "王五"}])).json()["detail"]
    assert _count(db, Matter) == before


def test_credit_code_check_character_follows_gb_32100():
    assert credit_check_character(BANK[:17]) == BANK[17] and credit_check_character(CO[:17]) == CO[17]
    assert normalize_credit_code(" " + BANK.lower() + " ") == BANK
    for bad in (BANK[:17] + "C", BANK[:16], "I1110000802100433B", BANK[:-1] + "Z"):
        with pytest.raises(Invalid):
            normalize_credit_code(bad)


def test_an_organisation_petitions_with_its_credit_code_kept_hashed(client, org, db):
    headers = login(client, "coord.county")
    company = {"kind": "legal_person", "name": "岚州市某建筑有限公司", "credit_code": BANK, "phone": "0851-1234567"}
    first = _post(client, headers, matter_body(org, petitioners=[company]))
    assert first.status_code == 201, first.text
    assert first.json()["petitioners"][0]["kind"] == "legal_person"
    assert first.json()["petitioners"][0]["id_number"] == BANK  # in full for the office
    shown = client.get(f"/api/v1/matters/{first.json()['id']}", headers=login(client, "leader.county")).json()
    assert shown["petitioners"][0]["id_number"] == "*" * 14 + BANK[-4:]
    again = _post(client, headers, matter_body(org, petitioners=[company], summary="另一件事：工程款结算"))
    assert again.json()["petitioners"][0]["id"] == first.json()["petitioners"][0]["id"]  # one record, by its code
    with db.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(text("SELECT * FROM petitioners")))
    assert BANK not in dump and BANK[-6:] not in dump


def test_a_wrong_credit_code_is_refused_with_its_code(client, org, db):
    headers = login(client, "coord.county")
    before = _count(db, Petitioner)
    company = {"kind": "organisation", "name": "某村经济合作社", "credit_code": BANK[:17] + "C"}
    response = client.post("/api/v1/matters?lang=en", headers=headers,
                           json=matter_body(org, petitioners=[company]))
    assert response.status_code == 422
    assert response.json() == {"detail": "The unified social credit code's check character is wrong.",
                               "code": "invalid", "field": "petitioners.0.credit_code"}
    assert _count(db, Petitioner) == before


# -- 检举控告 ------------------------------------------------------------------------------------------------------

def test_an_accusation_may_be_anonymous_and_is_confidential(client, org):
    headers = login(client, "coord.county")
    response = _post(client, headers, _accusation(org))
    assert response.status_code == 201, response.text
    matter = response.json()
    assert matter["petitioners"] == [] and matter["accusation"] and matter["confidential"]
    assert matter["accused_node_id"] == org.nodes["county_dept"].id and matter["accused_text"] == "城东区人社局某科长"


@pytest.mark.parametrize("change, field", [
    ({"accusation": False}, "petitioners"),  # only an accusation may come without a name
    ({"channel": "video"}, "petitioners"),  # nobody visits anonymously
    ({"accused_node_id": None, "accused_text": ""}, "accused_text"),
])
def test_an_anonymous_matter_is_refused_otherwise(client, org, db, change, field):
    headers = login(client, "coord.county")
    body = _accusation(org)
    body.update(change)
    response = _post(client, headers, body)
    assert response.status_code == 422 and response.json()["field"] == field, response.text


def test_the_accused_unit_does_not_handle_an_accusation_against_itself(client, org):
    headers = login(client, "coord.county")
    response = _post(client, headers, _accusation(org, accused_node_id=org.nodes["county"].id))
    assert response.status_code == 422 and response.json()["field"] == "handling_node_id"


def test_the_accused_unit_is_excluded_by_the_predicate_and_its_sql(client, org, db):
    headers = login(client, "coord.county")
    accusation = _post(client, headers, _accusation(org)).json()
    plain, _ = register(client, org, headers=headers)
    with db.transaction() as s:
        handler = principal_for(s.get(Person, org.people["handler"].id))
        office = principal_for(s.get(Person, org.people["coord_county"].id))
        other_unit = principal_for(s.get(Person, org.people["leader_city"].id))
        hidden, visible = s.get(Matter, accusation["id"]), s.get(Matter, plain["id"])
        assert accused_unit_excluded(handler, hidden) and not accused_unit_excluded(handler, visible)
        assert not accused_unit_excluded(office, hidden) and not accused_unit_excluded(other_unit, hidden)
        for who, expected in ((handler, {plain["id"]}), (office, {plain["id"], accusation["id"]})):
            assert set(s.scalars(select(Matter.id).where(not_accused(who)))) == expected


def test_the_accused_unit_never_lists_the_accusation(client, org):
    office = login(client, "coord.county")
    accusation = _post(client, office, _accusation(org)).json()
    plain, _ = register(client, org, headers=office)
    due = (clock.now() + timedelta(days=10)).isoformat()
    for matter in (accusation, plain):  # a task would otherwise open both to the unit
        task = client.post(f"/api/v1/matters/{matter['id']}/tasks", headers=office,
                           json={"unit_node_id": org.nodes["county_dept"].id, "title": "核实", "due_at": due})
        assert task.status_code == 201, task.text
    handler = login(client, "handler")
    listed = client.get("/api/v1/matters", headers=handler).json()
    assert [m["id"] for m in listed["items"]] == [plain["id"]] and listed["total"] == 1


def test_the_accused_unit_cannot_open_the_accusation(client, org):
    office = login(client, "coord.county")
    accusation = _post(client, office, _accusation(org)).json()
    due = (clock.now() + timedelta(days=10)).isoformat()
    client.post(f"/api/v1/matters/{accusation['id']}/tasks", headers=office,
                json={"unit_node_id": org.nodes["county_dept"].id, "title": "核实", "due_at": due})
    assert client.get(f"/api/v1/matters/{accusation['id']}", headers=login(client, "handler")).status_code == 403


# -- representatives (Art. 17) ------------------------------------------------------------------------------------

def test_a_letter_with_many_signatures_needs_no_representatives(client, org):
    people = [{"name": f"群众{i}", "id_number": id_number(300 + i)} for i in range(12)]
    matter, headers = register(client, org, petitioners=people, channel="letter")
    assert matter["is_group"] and not any(p["representative"] for p in matter["petitioners"])
    many, _ = register(client, org, headers=headers, petitioners=people, channel="letter",
                       representatives=list(range(8)), summary="另一封联名信：征地补偿")
    assert sum(p["representative"] for p in many["petitioners"]) == 8


@pytest.mark.parametrize("channel", ["visit", "video"])
def test_a_visit_elects_at_most_five_representatives(client, org, channel):
    headers = login(client, "coord.county")
    people = [{"name": f"群众{i}", "id_number": id_number(300 + i)} for i in range(8)]
    for representatives in (None, [0, 1, 2, 3, 4, 5]):
        response = _post(client, headers, matter_body(org, petitioners=people, channel=channel,
                                                      representatives=representatives))
        assert response.status_code == 422 and response.json()["code"] == "too_many_representatives"


# -- the same person; a petitioner's history ----------------------------------------------------------------------

def test_the_same_person_is_linked_whatever_the_wording(client, org):
    first, headers = register(client, org, summary="村委会拖欠我三个月工资，请求督促支付")
    other, _ = register(client, org, headers=headers, summary="邻居违章建房遮挡采光", category="housing")
    assert not other["possible_repeat"]  # not the same facts: no 重复访 warning …
    assert [(r["id"], r["reason"]) for r in other["possible_repeats"]] == [(first["id"], "same_person")]  # … linked
    again, _ = register(client, org, headers=headers, summary="村委会拖欠我三个月的工资，要求支付")
    reasons = {r["id"]: r["reason"] for r in again["possible_repeats"]}
    assert again["possible_repeat"] and reasons == {first["id"]: "similar_demands", other["id"]: "same_person"}
    stranger, _ = register(client, org, headers=headers, serial=9, summary="邻居违章建房遮挡采光", category="housing")
    assert stranger["possible_repeats"] == []


def test_the_same_organisation_is_linked_by_its_code(client, org):
    headers = login(client, "coord.county")
    company = {"kind": "legal_person", "name": "岚州市某建筑有限公司", "credit_code": CO, "address": "岚州市1号"}
    first = _post(client, headers, _letter(org, [company])).json()
    renamed = {**company, "name": "岚州某建筑公司"}
    second = _post(client, headers, _letter(org, [renamed], summary="工程款结算纠纷", category="housing")).json()
    assert [(r["id"], r["reason"]) for r in second["possible_repeats"]] == [(first["id"], "same_person")]
    check = client.post("/api/v1/matters/repeat-check", headers=headers, json={
        "petitioners": [renamed], "demands": [{"summary": "别的诉求", "category": "land"}]}).json()
    assert {r["id"] for r in check} == {first["id"], second["id"]}


def test_a_petitioners_history_lists_what_the_caller_may_read(client, org):
    first, headers = register(client, org, summary="村委会拖欠我三个月工资")
    second, _ = register(client, org, headers=headers, summary="邻居违章建房遮挡采光", category="housing")
    register(client, org, headers=headers, serial=9, summary="别人的事")
    person = first["petitioners"][0]["id"]
    history = client.get(f"/api/v1/petitioners/{person}/matters", headers=headers).json()
    assert [m["id"] for m in history["items"]] == [second["id"], first["id"]] and history["total"] == 2
    paged = client.get(f"/api/v1/petitioners/{person}/matters", headers=headers, params={"limit": 1}).json()
    assert [m["id"] for m in paged["items"]] == [second["id"]] and paged["next"]
    other_county = login(client, "coord.county2")
    assert client.get(f"/api/v1/petitioners/{person}/matters", headers=other_county).status_code == 404
    assert client.get("/api/v1/petitioners/99999/matters", headers=headers).status_code == 404


# -- the registration fields --------------------------------------------------------------------------------------

def test_the_registration_fields_are_kept(client, org):
    matter, headers = register(client, org, facts="2025年6月至8月工资未发，多次催要无果。", accused_text="桃源镇某砖厂",
                               people_count=3)
    shown = client.get(f"/api/v1/matters/{matter['id']}", headers=login(client, "leader.county")).json()
    assert shown["facts"] == "2025年6月至8月工资未发，多次催要无果。" and shown["accused_text"] == "桃源镇某砖厂"
    assert shown["people_count"] == 3 and shown["is_group"] and not shown["accusation"]
    assert shown["petitioners"][0]["address"] == ""  # the address only for the office
    too_few = _post(client, headers, matter_body(org, serial=2, people_count=0))
    assert too_few.status_code == 422 and too_few.json()["field"] == "people_count"
