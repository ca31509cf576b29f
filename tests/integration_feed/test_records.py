"""The feed is written by the services themselves: registration, hand-over, notices, 意见书, service (送达)."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.factories import act_on, id_number, register_matter
from vreception.models import Matter
from vreception.models.integration import IntegrationChange

DISCLOSED = {"state", "registered_on", "action", "from_state", "handover", "notice", "opinion"}
DOCUMENT_FIELDS = {"kind", "name", "number", "issued_on", "served_on", "method"}


def changes(db, matter_id: int | None = None) -> list[IntegrationChange]:
    with db.transaction() as s:
        query = select(IntegrationChange).order_by(IntegrationChange.id)
        if matter_id is not None:
            query = query.where(IntegrationChange.matter_id == matter_id)
        return list(s.scalars(query))


def run_matter(db, org, settings) -> int:
    """Register at county A, transfer to county B, accept, reply and serve; the matter's id."""
    with db.transaction() as s:
        matter, _ = register_matter(s, org, settings)
        matter_id = matter.id
    with db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "transfer",
               params={"to_node_id": org.nodes["county2"].id, "reason": "属地管理"})
    with db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "accept", actor="coord_county2")
    with db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "reply", actor="coord_county2",
               params={"outcome": "support", "reason": "经核实，诉求合理"})
    with db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "serve", actor="coord_county2", params={"method": "mail"})
    return matter_id


def test_every_step_of_a_matter_writes_its_change_in_order(db, org, settings):
    matter_id = run_matter(db, org, settings)
    rows = changes(db, matter_id)
    summary = [(r.kind, json.loads(r.payload).get("notice", json.loads(r.payload).get("opinion", {})).get("kind"),
                json.loads(r.payload)["state"]) for r in rows]
    assert summary == [
        ("matter.registered", None, "registered"),
        ("document.issued", "transfer_notice", "registered"),  # 信访事项去向告知书
        ("matter.handed_over", None, "registered"),
        ("document.issued", "acceptance_notice", "registered"),  # 受理告知书, issued as the matter is accepted
        ("matter.state", None, "accepted"),
        ("document.issued", "reply_opinion", "accepted"),
        ("matter.state", None, "replied"),
        ("document.served", "reply_opinion", "replied"),
        ("matter.state", None, "served"),
    ]
    assert [r.id for r in rows] == list(range(rows[0].id, rows[0].id + len(rows)))  # no holes
    with db.transaction() as s:
        matter = s.get(Matter, matter_id)
        number, registered_on = matter.number, matter.registered_at
    assert all(r.matter_number == number and not r.backfilled for r in rows)
    payloads = [json.loads(r.payload) for r in rows]
    from vreception.cases.deadlines import local_day
    assert {p["registered_on"] for p in payloads} == {local_day(registered_on).isoformat()}
    handover = payloads[2]["handover"]
    assert handover == {"kind": "transfer", "on": local_day(rows[2].occurred_at).isoformat(), "to": "城西区"}
    assert payloads[4] == {"state": "accepted", "registered_on": payloads[0]["registered_on"], "action": "accept",
                           "from_state": "registered"}
    notice = payloads[3]["notice"]
    assert notice["name"] == "受理告知书" and notice["number"].startswith("城西区信受〔")
    assert "served_on" not in notice
    opinion = payloads[7]["opinion"]
    assert opinion["name"] == "信访处理意见书" and opinion["method"] == "mail"
    assert opinion["served_on"] == local_day(rows[7].occurred_at).isoformat()
    # The county B's office is where the matter went: changes after the hand-over are placed there.
    assert rows[0].node_path == org.nodes["county"].path and rows[-1].node_path == org.nodes["county2"].path


def test_the_payload_holds_only_the_disclosed_fields_and_no_personal_data(db, org, settings):
    matter_id = run_matter(db, org, settings)
    rows = changes(db, matter_id)
    for row in rows:
        payload = json.loads(row.payload)
        assert set(payload) <= DISCLOSED, payload
        for key in ("notice", "opinion"):
            assert set(payload.get(key, {})) <= DOCUMENT_FIELDS
        text = row.payload
        # Not the petitioner, the ID number, the phone (nor its tail), the demand, the reason, nor any actor.
        for secret in ("张三", id_number(1), "13800138000", "8000", "拖欠", "属地管理", "诉求合理", "测试"):
            assert secret not in text, (secret, text)


def test_an_action_that_changes_no_state_leaves_only_its_documents(db, org, settings):
    """An extension keeps the state: only its notice enters the feed; naming an owner (a leader's name) nothing."""
    with db.transaction() as s:
        matter, _ = register_matter(s, org, settings)
        matter_id = matter.id
        act_on(s, org, matter, "accept")
    before = len(changes(db, matter_id))
    with db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "set_owner", params={"leader_id": org.people["leader_county"].id})
    assert len(changes(db, matter_id)) == before
    with db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "extend",
               params={"days": 10, "approved_by": org.people["leader_county"].id, "reason": "情况复杂"})
    rows = changes(db, matter_id)[before:]
    assert [(r.kind, json.loads(r.payload)["notice"]["name"]) for r in rows] == [
        ("document.issued", "延长办理期限告知书")]
    assert "测试leader_county" not in "".join(r.payload for r in changes(db, matter_id))


def test_a_failed_action_writes_nothing(db, org, settings):
    import pytest

    from vreception.errors import DomainError

    with db.transaction() as s:
        matter, _ = register_matter(s, org, settings)
        matter_id = matter.id
    count = len(changes(db))
    with pytest.raises(DomainError), db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "not_accept")  # a refusal needs its reason
    with pytest.raises(DomainError), db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "accept")
        raise DomainError("rolled back after the writes")
    assert len(changes(db)) == count
    with db.transaction() as s:
        act_on(s, org, s.get(Matter, matter_id), "accept")
    ids = [r.id for r in changes(db)]
    assert ids == list(range(1, len(ids) + 1))  # the rolled-back ids were handed out again: no holes
