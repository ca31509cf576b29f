"""The online services on SQLite and PostgreSQL: codes, 复查/复核 online, 网上预约, 网上信访."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import NOW, act_on, build_org, id_number, register_matter
from tests.online.helpers import PNG, fresh_limits, last_code, protector_of, served_matter
from vreception import clock, evidence
from vreception.auth.access import principal_for
from vreception.cases.errors import IllegalTransition, WindowClosed
from vreception.cases.public import RateLimited
from vreception.errors import Conflict, Forbidden, Invalid
from vreception.models import AuditEvent, Channel, Matter, MatterState, Person
from vreception.models.online import OnlineCode, OnlineRequest, OnlineState
from vreception.models.sms import SmsMessage
from vreception.online import access, intake, queries, reception, review, verification
from vreception.online.errors import AlreadyAnswered, CodeRejected


@pytest.fixture
def org(db):
    clock.travel_to(NOW)
    return build_org(db)


def send(tx, settings, limits, *, phone="13800138000", purpose="intake", client="1.2.3.4", matter_id=None):
    return verification.send_code(db=tx, protector=protector_of(settings), limits=limits, purpose=purpose, phone=phone,
                                  client=client, matter_id=matter_id)


def test_a_code_is_sent_masked_stored_as_a_hash_and_used_once(db, org, settings):
    protector, limits = protector_of(settings), fresh_limits()
    with db.transaction() as tx:
        sent = send(tx, settings, limits)
        code = last_code(tx, protector)
        row = tx.scalars(select(OnlineCode)).one()
        message = tx.scalars(select(SmsMessage)).one()
        assert sent.phone_tail == "8000" and sent.expires_at == NOW + timedelta(minutes=10)
        assert code not in (row.code_hash, row.challenge_hash, message.text) and sent.challenge not in row.challenge_hash
        assert message.state.value == "queued" and message.parts == 1
        full_width = " ".join(chr(ord(ch) - ord("0") + ord("０")) for ch in code)  # as a phone keyboard may type it
        used = verification.check_code(db=tx, protector=protector, challenge=sent.challenge, code=full_width,
                                       purpose="intake", phone="138 0013 8000")
        verification.consume(used, db=tx)
    with db.transaction() as tx:
        with pytest.raises(CodeRejected) as again:
            verification.check_code(db=tx, protector=protector, challenge=sent.challenge, code=code, purpose="intake")
        assert again.value.message_key == "online.error.code_used"
        actions = [a for a, in tx.execute(select(AuditEvent.action).where(AuditEvent.action.like("online.%")))]
        assert actions == ["online.code_sent", "online.code_used"]


def test_five_tries_then_the_code_is_dead_even_when_right(db, org, settings):
    protector = protector_of(settings)
    with db.transaction() as tx:
        sent = send(tx, settings, fresh_limits())
        code = last_code(tx, protector)
    wrong = "000000" if code != "000000" else "111111"
    lefts = []
    for _ in range(5):
        with db.transaction() as tx:
            with pytest.raises(CodeRejected) as refused:
                verification.check_code(db=tx, protector=protector, challenge=sent.challenge, code=wrong, purpose="intake")
            lefts.append(refused.value.params.get("left"))
    assert lefts == [4, 3, 2, 1, 0]
    with db.transaction() as tx:
        with pytest.raises(CodeRejected) as dead:
            verification.check_code(db=tx, protector=protector, challenge=sent.challenge, code=code, purpose="intake")
    assert dead.value.message_key == "online.error.code_tries"


def test_a_code_expires_after_ten_minutes_and_is_bound_to_its_purpose_and_phone(db, org, settings):
    protector = protector_of(settings)
    with db.transaction() as tx:
        sent = send(tx, settings, fresh_limits())
        code = last_code(tx, protector)
        for purpose, phone in (("review", None), ("intake", "13900139000")):
            with pytest.raises(CodeRejected) as other:
                verification.check_code(db=tx, protector=protector, challenge=sent.challenge, code=code,
                                        purpose=purpose, phone=phone)
            assert other.value.message_key == "online.error.code_unknown"
    clock.travel_to(NOW + timedelta(minutes=10, seconds=1))
    with db.transaction() as tx:
        with pytest.raises(CodeRejected) as late:
            verification.check_code(db=tx, protector=protector, challenge=sent.challenge, code=code, purpose="intake")
    assert late.value.message_key == "online.error.code_expired"


def test_codes_are_rate_limited_per_number_and_per_client(db, org, settings):
    limits = fresh_limits()
    with db.transaction() as tx:
        for i in range(5):
            send(tx, settings, limits, client=f"10.0.0.{i}")
        with pytest.raises(RateLimited):
            send(tx, settings, limits, client="10.0.0.99")  # the sixth to one number
        for i in range(19):  # with the one above: twenty
            send(tx, settings, limits, phone=f"139{i:08d}", client="10.0.0.1")
        with pytest.raises(RateLimited):
            send(tx, settings, limits, phone="13700000000", client="10.0.0.1")  # the twenty-first from one client
        with pytest.raises(Invalid):
            send(tx, settings, limits, phone="12345", client="10.0.0.7")


def test_review_online_lands_at_the_body_above_with_its_arrival_time(db, org, settings):
    with db.transaction() as tx:
        matter, _ = served_matter(tx, org, settings)
    clock.travel_to(NOW + timedelta(days=3, hours=2))
    with db.transaction() as tx:
        matter = tx.get(Matter, matter.id)
        done = review.request(db=tx, matter=matter, protector=protector_of(settings))
        assert (matter.state, matter.holding_node_id) == (MatterState.review_requested, org.nodes["city"].id)
        assert matter.review_requested_at == NOW + timedelta(days=3, hours=2) == done.requested_at
        assert done.body_name == "岚州市" and done.action == "request_review"
        event = tx.scalars(select(AuditEvent).where(AuditEvent.action == "matter.request_review")).one()
        assert json.loads(event.data)["via"] == "online" and event.actor_id is None
        texts = [m.text for m in tx.scalars(select(SmsMessage).where(SmsMessage.template == "online_review_received"))]
        assert len(texts) == 1 and "复查" in texts[0] and "岚州市" in texts[0]
        # 复查 answered and served by the city: 复核 goes one level further up.
        act_on(tx, org, matter, "review_reply", actor="coord_province",
               params={"outcome": "not_support", "reason": "维持原处理意见。"})
        act_on(tx, org, matter, "serve", actor="coord_province", params={"method": "direct"})
        review.request(db=tx, matter=matter, protector=protector_of(settings))
        assert (matter.state, matter.holding_node_id) == (MatterState.recheck_requested, org.nodes["province"].id)


def test_review_outside_the_window_or_in_the_wrong_state_is_refused_clearly(db, org, settings):
    with db.transaction() as tx:
        served, _ = served_matter(tx, org, settings)
        fresh, _ = register_matter(tx, org, settings, serial=2, summary="征地补偿款未发放")
        with pytest.raises(IllegalTransition) as state:
            review.window_of(fresh, NOW)
        assert state.value.message_key == "online.error.review_state"
    clock.travel_to(NOW + timedelta(days=31))
    with db.transaction() as tx:
        with pytest.raises(WindowClosed) as late:
            review.request(db=tx, matter=tx.get(Matter, served.id), protector=protector_of(settings))
        assert late.value.message_key == "error.window_review_request" and late.value.params["due"]
        assert tx.get(Matter, served.id).state is MatterState.served


def test_a_reception_request_waits_for_the_handling_office_and_is_refused_by_sms(db, org, settings):
    today = NOW.date()
    with db.transaction() as tx:
        matter, _ = register_matter(tx, org, settings)
        near = reception.rooms_near(matter, db=tx)
        assert [r.id for r in near] == [org.rooms["township"].id]  # the petitioner's township, not the county's
        for days, room, key in (([today + timedelta(days=i) for i in range(1, 5)], near[0].id, "online.error.days_count"),
                                ([today], near[0].id, "online.error.days_range"),
                                ([today + timedelta(days=1)], org.rooms["county"].id, "online.error.room")):
            with pytest.raises(Invalid) as bad:
                reception.ask(db=tx, matter=matter, days=days, room_id=room, note="", today=today)
            assert bad.value.message_key == key
        asked = reception.ask(db=tx, matter=matter, days=[date(2026, 3, 5), date(2026, 3, 4)], room_id=near[0].id,
                              note="腿脚不便，希望上午", today=today)
        assert (asked.state, asked.node_id, asked.preferred_days) == (OnlineState.waiting, org.nodes["county"].id,
                                                                      "2026-03-04,2026-03-05")
        with pytest.raises(Conflict):
            reception.ask(db=tx, matter=matter, days=[date(2026, 3, 6)], room_id=near[0].id, note="", today=today)
        coordinator = principal_for(tx.get(Person, org.people["coord_county"].id))
        assert [r.id for r in queries.queue(db=tx, principal=coordinator).items] == [asked.id]
        assert queries.queue(db=tx, principal=principal_for(tx.get(Person, org.people["coord_county2"].id))).items == []
        with pytest.raises(Forbidden):
            access.load_for_office(principal_for(tx.get(Person, org.people["coord_county2"].id)), asked.id, db=tx)
        reception.refuse(db=tx, request=asked, reason="本月接访日已满，请下月再申请", actor_id=org.people["coord_county"].id,
                         protector=protector_of(settings))
        refused = tx.scalars(select(SmsMessage).where(SmsMessage.template == "online_reception_refused")).one()
        assert "本月接访日已满" in refused.text and refused.phone_tail == "8000"
        with pytest.raises(AlreadyAnswered):
            reception.approve(db=tx, request=asked, actor_id=None)
        second = reception.ask(db=tx, matter=matter, days=[date(2026, 3, 6)], room_id=near[0].id, note="", today=today)
        reception.approve(db=tx, request=second, actor_id=org.people["coord_county"].id)
        assert reception.booking_query(second, "x") == {"room_id": str(near[0].id), "week": "2026-03-06",
                                                        "reason": "x"}


def _submit(tx, settings, org, uploads, **kw):
    values = dict(name="王五", id_number=id_number(9), phone="13900139000", county_id=org.nodes["county"].id,
                  address_node_id=org.nodes["township"].id, about="村道被占用三个月", demands="请求恢复村道通行")
    values.update(kw)
    return intake.submit(db=tx, protector=protector_of(settings), storage_dir=Path(settings.data_dir),
                         max_bytes=1024, uploads=uploads, **values)


def test_an_online_petition_is_checked_like_registration_materials(db, org, settings):
    with db.transaction() as tx:
        for uploads, error in (([intake.Upload("a.txt", b"plain text")], evidence.UnsupportedFile),
                               ([intake.Upload("big.png", PNG + b"\x00" * 2000)], evidence.UploadTooLarge),
                               ([intake.Upload(f"{i}.png", PNG) for i in range(6)], Invalid)):
            with pytest.raises(error):
                _submit(tx, settings, org, uploads)
        with pytest.raises(Invalid) as elsewhere:
            _submit(tx, settings, org, [], address_node_id=org.nodes["township2"].id)  # not in the chosen county
        assert elsewhere.value.field == "address_node_id"
        assert tx.scalars(select(OnlineRequest)).all() == []


def test_an_online_petition_is_registered_through_the_registration_service(db, org, settings):
    with db.transaction() as tx:
        draft = _submit(tx, settings, org, [intake.Upload("照片.png", PNG)])
        assert draft.node_id == org.nodes["county"].id and draft.id_cipher and id_number(9) not in draft.id_cipher
    clock.travel_to(NOW + timedelta(hours=5))
    with db.transaction() as tx:
        draft = tx.get(OnlineRequest, draft.id)
        actor = org.people["coord_county"].id
        completed = intake.completion_of(db=tx, request=draft, protector=protector_of(settings), actor_id=actor)
        assert (completed.id_number, completed.phone) == (id_number(9), "13900139000")
        completed = intake.Completed(**{**completed.__dict__, "category": "wages"})
        matter, code = intake.register_draft(db=tx, request=draft, completed=completed, protector=protector_of(settings),
                                             storage_dir=Path(settings.data_dir), max_bytes=1024, actor_id=actor)
        assert matter.channel is Channel.online and matter.received_at == NOW and len(code) == 10
        assert (draft.state, draft.matter_id) == (OnlineState.approved, matter.id)
        assert [f.filename for f in evidence.matter_files(db=tx, matter_id=matter.id)] == ["照片.png"]
        registered = tx.scalars(select(SmsMessage).where(SmsMessage.template == "registered")).one()
        assert registered.phone_tail == "9000" and matter.number in registered.text
        with pytest.raises(AlreadyAnswered):
            intake.decline(db=tx, request=draft, reason="x", actor_id=actor, protector=protector_of(settings))
        other = _submit(tx, settings, org, [])
        intake.decline(db=tx, request=other, reason="不属于信访事项，请通过诉讼渠道解决", actor_id=actor,
                       protector=protector_of(settings))
        declined = tx.scalars(select(SmsMessage).where(SmsMessage.template == "online_intake_declined")).one()
        assert "诉讼渠道" in declined.text and declined.phone_tail == "9000"
