"""The SMS outbox: templates and their length, numbers, opt-out, backoff, secrets, hooks, audit, two senders."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from scheduling import booking
from tests.core.smpp_server import SmscServer
from tests.factories import NOW, POLICY, SH, act_on, add_plan, book_session, build_org, register_matter
from vreception import clock
from vreception.cases.identity import Protector
from vreception.errors import Invalid
from vreception.i18n import translate
from vreception.models import AuditEvent, Document, Person
from vreception.models.sms import SmsMessage, SmsState
from vreception.sms import outbox
from vreception.sms.settings import SmsSettings
from vreception.sms.smpp import SmppGateway
from vreception.sms.texts import KEYS, MAX_PARTS, TEMPLATES, mobile_number, parts_of, render

LONG = {"number": "580102-2026-00001", "code": "ABCDEFGHJK", "url": "https://xf.example.gov.cn/lookup",
        "when": "12月31日 23:30", "room": "城东区信访局视频接访室、东湖镇视频接访点", "leader": "副县长",
        "title": "信访事项去向告知书", "date": "2026年12月31日", "days": 30, "minutes": 30, "name": "张三丰",
        "purpose": "申请复查", "kind": "复查", "body": "某某市人民政府信访局", "reason": "该事项已按程序办结，请按告知书途径办理",
        "link": "https://xf.example.gov.cn/home/" + "t" * 43}


@pytest.fixture
def smsc():
    server = SmscServer().start()
    yield server
    server.stop()


def sms_settings(**changes) -> SmsSettings:
    return SmsSettings(_env_file=None, **changes)


def gateway(server: SmscServer) -> SmppGateway:
    return SmppGateway(host="127.0.0.1", port=server.port, system_id="vreception", password="secret",
                       source_addr="10612345", timeout=5)


def protector_of(settings) -> Protector:
    return Protector(settings.effective_secret_key())


def messages(db) -> list[SmsMessage]:
    with db.transaction() as tx:
        rows = list(tx.scalars(select(SmsMessage).order_by(SmsMessage.id)))
        tx.expunge_all()
        return rows


def sms_audit(db, message_id: int) -> list[str]:
    with db.transaction() as tx:
        return list(tx.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "sms",
                                                               AuditEvent.entity_id == str(message_id))
                               .order_by(AuditEvent.seq)))


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_within_the_bound(template, language):
    sent, shown, parts = render(template, signature="某某县信访局", language=language, **LONG)
    assert "{" not in sent and 1 <= parts <= MAX_PARTS
    assert sent.startswith("【某某县信访局】")
    if "{code}" in translate(KEYS[template], language):
        assert "ABCDEFGHJK" in sent and "ABCDEFGHJK" not in shown and "**********" in shown
    if template == "home_link":  # the link carries its token: sent, never shown
        assert LONG["link"] in sent and LONG["link"] not in shown


def test_parts_count_ucs2_seventy_then_sixty_seven():
    assert [parts_of("字" * n) for n in (1, 70, 71, 134, 135, 335)] == [1, 1, 2, 2, 3, 5]
    assert parts_of("😀" * 35) == 1 and parts_of("😀" * 36) == 2  # outside the BMP: two UCS-2 units each
    with pytest.raises(Invalid) as refused:
        render("notice_served", signature="信访", **{**LONG, "title": "长" * 400})
    assert refused.value.message_key == "error.sms_too_long"
    with pytest.raises(Invalid):
        render("no_such_template", signature="信访")


def test_mainland_mobile_numbers():
    assert mobile_number("138 0013 8000") == "13800138000"
    assert mobile_number("+86 138-0013-8000") == "13800138000"
    assert mobile_number("008613800138000") == "13800138000"
    for bad in ("010-12345678", "1380013800", "12800138000", "138001380001", "", "abc"):
        assert mobile_number(bad) is None


def test_registration_queues_the_code_encrypted_and_sends_it_once(db, settings, smsc):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        matter, code = register_matter(tx, org, settings, phone="138 0013 8000")
        number = matter.number
    [queued] = messages(db)
    assert queued.template == "registered" and queued.state is SmsState.queued and queued.phone_tail == "8000"
    assert number in queued.text and code not in queued.text and "13800138000" not in queued.phone_cipher
    assert code in protector_of(settings).decrypt(queued.text_cipher)

    sms = sms_settings()
    # No gateway: nothing leaves, the message waits, visible.
    assert outbox.send_due(db, gateway=None, protector=protector_of(settings), settings=sms).sent == 0
    assert messages(db)[0].state is SmsState.queued
    done = outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms)
    assert done.sent == 1
    [received] = smsc.received()
    assert received.destination == "8613800138000" and code in received.text and number in received.text
    [sent] = messages(db)
    assert sent.state is SmsState.sent and sent.attempts == 1 and received.parts == sent.parts == 2
    assert sent.gateway_id == "M1,M2"  # one id per part
    assert sent.text_cipher == ""  # the code does not outlive the message
    assert sms_audit(db, sent.id) == ["sms.queued", "sms.sending", "sms.sent"]
    # Sent once: a later run has nothing to do.
    assert outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms).sent == 0
    assert len(smsc.received()) == 1


def test_invalid_numbers_and_opted_out_numbers_are_cancelled_with_the_reason(db, settings, smsc):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        register_matter(tx, org, settings, phone="010-12345678")
        register_matter(tx, org, settings, serial=2, phone="13900139000", summary="征地补偿款未发放到户")
        register_matter(tx, org, settings, serial=3, phone="13700137000", summary="小区噪音扰民长期无人处理")
        outbox.opt_out(db=tx, protector=protector_of(settings), phone="+86 139 0013 9000", reason="本人来电退订",
                       actor_id=org.people["coord_county"].id)
    # Screening happens without a gateway too.
    outcome = outbox.send_due(db, gateway=None, protector=protector_of(settings), settings=sms_settings())
    assert outcome.cancelled == 2
    landline, opted, fine = messages(db)
    assert (landline.state, landline.error) == (SmsState.cancelled, "invalid_phone")
    assert (opted.state, opted.error) == (SmsState.cancelled, "opted_out")
    assert fine.state is SmsState.queued
    assert landline.text_cipher == "" and opted.text_cipher == ""
    assert sms_audit(db, opted.id)[-1] == "sms.cancelled"
    outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms_settings())
    assert [m.destination for m in smsc.received()] == ["8613700137000"]
    with db.transaction() as tx:
        outbox.opt_in(db=tx, protector=protector_of(settings), phone="13900139000")
        assert tx.scalar(select(AuditEvent.action).order_by(AuditEvent.seq.desc()).limit(1)) == "sms.opted_in"


def test_refusals_back_off_exponentially_then_fail(db, settings, smsc):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        register_matter(tx, org, settings)
    sms = sms_settings(max_attempts=3, backoff_seconds=60)
    throttled = 0x58
    smsc.state.refuse_next = [throttled, throttled, throttled]
    at = NOW.astimezone(SH)
    steps = []
    for offset in (0, 59, 60, 60 + 119, 60 + 120):
        moment = at + timedelta(seconds=offset)
        outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms, at=moment)
        [message] = messages(db)
        steps.append((offset, message.state.value, message.attempts,
                      int((message.next_attempt_at - at).total_seconds())))
    assert steps == [(0, "queued", 1, 60), (59, "queued", 1, 60), (60, "queued", 2, 180),
                     (179, "queued", 2, 180), (180, "failed", 3, 180)]
    assert smsc.received() == []
    assert sms_audit(db, message.id) == ["sms.queued", "sms.sending", "sms.retry", "sms.sending", "sms.retry",
                                         "sms.sending", "sms.failed"]
    assert message.error.startswith("SMPP submit_sm status 0x00000058")


def test_a_permanent_refusal_fails_at_once(db, settings, smsc):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        register_matter(tx, org, settings)
    smsc.state.refuse_next = [0x0B]  # ESME_RINVDSTADR: the number is wrong for good
    outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms_settings())
    [message] = messages(db)
    assert (message.state, message.attempts) == (SmsState.failed, 1)


def test_a_message_left_sending_by_a_crash_is_settled_unknown_and_never_resent(db, settings, smsc):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        register_matter(tx, org, settings)
        message = tx.scalars(select(SmsMessage)).one()
        # A sender claimed it, called the gateway and died before recording the answer.
        message.state, message.attempts, message.sending_at = SmsState.sending, 1, NOW - timedelta(minutes=5)
    sms = sms_settings(sending_timeout_seconds=600)
    outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms)
    assert messages(db)[0].state is SmsState.sending  # not yet: the crashed sender may still answer
    clock.travel_to(NOW + timedelta(minutes=6))
    outcome = outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms)
    [settled] = messages(db)
    assert outcome.unknown == 1 and (settled.state, settled.error) == (SmsState.failed, "outcome_unknown")
    assert settled.text_cipher == "" and smsc.received() == []
    assert sms_audit(db, settled.id)[-1] == "sms.outcome_unknown"


def test_reception_booked_moved_cancelled_and_notices_served_reach_the_petitioner(db, settings):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        add_plan(tx, org, scope="劳动社保")
        matter, _ = register_matter(tx, org, settings)
        item = book_session(tx, org, matter_id=matter.id, starts_at=datetime(2026, 3, 4, 9, 0, tzinfo=SH))
        booking.reschedule(db=tx, policy=POLICY, booking=item, starts_at=datetime(2026, 3, 5, 9, 0, tzinfo=SH),
                           ends_at=datetime(2026, 3, 5, 9, 30, tzinfo=SH), actor_id=org.people["coord_county"].id)
        booking.cancel(db=tx, booking=item, reason="领导临时公务", actor_id=org.people["coord_county"].id)
        act_on(tx, org, matter, "accept", params={"reason": ""})
        notice = tx.scalars(select(Document).where(Document.matter_id == matter.id)).one()
        act_on(tx, org, matter, "serve_notice", params={"document_id": notice.id, "method": "direct"})
        leader = tx.get(Person, org.people["leader_county"].id)
        leader_name, session_id = leader.name, item.id
    rows = messages(db)
    by_template = {m.template: m for m in rows}
    assert list(by_template) == ["registered", "reception_booked", "reception_rescheduled", "reception_cancelled",
                                 "notice_served"]
    booked = by_template["reception_booked"]
    assert booked.session_id == session_id and "3月4日 09:00" in booked.text and "副县长" in booked.text
    assert leader_name not in booked.text  # the leader by title only
    assert "3月5日 09:00" in by_template["reception_rescheduled"].text
    assert "3月5日 09:00" in by_template["reception_cancelled"].text
    assert "受理告知书" in by_template["notice_served"].text


def test_a_served_reply_invites_the_petitioner_to_rate(db, settings):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        matter, _ = register_matter(tx, org, settings)
        act_on(tx, org, matter, "accept", params={"reason": ""})
        act_on(tx, org, matter, "reply", params={"reason": "已责成用人单位支付", "outcome": "support"})
        act_on(tx, org, matter, "serve", params={"method": "direct"})
    templates = [m.template for m in messages(db)]
    assert templates[-2:] == ["notice_served", "rating"]
    assert "30日内" in messages(db)[-1].text


def test_two_senders_never_send_the_same_message(db, settings, smsc, request):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) are PostgreSQL's; SQLite has one writer")
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        for serial in range(1, 31):
            register_matter(tx, org, settings, serial=serial, phone=f"1380000{serial:04d}",
                            summary=f"第{serial}件：拖欠工资问题反映{serial}")
    sms = sms_settings(batch=100)
    start = threading.Barrier(2)
    outcomes = []

    def sender() -> None:
        start.wait()
        outcomes.append(outbox.send_due(db, gateway=gateway(smsc), protector=protector_of(settings), settings=sms))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    destinations = [m.destination for m in smsc.received()]
    assert len(destinations) == 30 and len(set(destinations)) == 30
    assert sum(o.sent for o in outcomes) == 30
    assert {m.state for m in messages(db)} == {SmsState.sent}
    assert not set(outcomes[0].ids) & set(outcomes[1].ids)


def test_a_key_rotation_keeps_phones_texts_and_opt_outs(db, settings):
    from vreception.sms.rekey import rekey

    org = build_org(db)
    clock.travel_to(NOW)
    old, new = protector_of(settings), Protector("n" * 48)
    with db.transaction() as tx:
        _, code = register_matter(tx, org, settings, phone="13800138000")
        outbox.opt_out(db=tx, protector=old, phone="13900139000")
    with db.transaction() as tx:
        assert rekey(db=tx, old=old, new=new) == 2
    [message] = messages(db)
    assert new.decrypt(message.phone_cipher) == "13800138000" and code in new.decrypt(message.text_cipher)
    with db.transaction() as tx:
        register_matter(tx, org, settings, serial=2, phone="13900139000", summary="征地补偿款未发放到户")
    # The second matter's phone was stored under the old key by the factory: encrypt it under the new one here.
    with db.transaction() as tx:
        second = tx.scalars(select(SmsMessage).order_by(SmsMessage.id.desc())).first()
        second.phone_cipher = new.encrypt("13900139000")
        second.text_cipher = new.encrypt(old.decrypt(second.text_cipher))
    outbox.send_due(db, gateway=None, protector=new, settings=sms_settings())
    assert [(m.state, m.error) for m in messages(db)] == [(SmsState.queued, ""), (SmsState.cancelled, "opted_out")]
