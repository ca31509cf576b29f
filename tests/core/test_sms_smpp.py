"""The gateways over real sockets: SMPP 3.4 against a local SMSC (smpplib PDUs on loopback), HTTPS JSON against a
local HTTP server; a gateway that is down keeps the messages, which go out once each when it returns; the SMSC's
delivery receipts move a message to delivered or failed, on the bind that sent it or a later one."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from tests.core.smpp_server import SmscServer
from tests.factories import NOW, build_org, register_matter
from vreception import clock
from vreception.cases.identity import Protector
from vreception.models import AuditEvent, Matter
from vreception.models.sms import SmsMessage, SmsState
from vreception.sms import outbox
from vreception.sms.gateways import GatewayUnavailable, HttpGateway, PermanentError, RetryableError
from vreception.sms.settings import SmsSettings
from vreception.sms.smpp import SmppGateway


def smpp(port: int, password: str = "secret", receipt_wait: float = 1.0) -> SmppGateway:
    return SmppGateway(host="127.0.0.1", port=port, system_id="vreception", password=password,
                       source_addr="10612345", timeout=5, receipt_wait=receipt_wait)


def states(db) -> list[tuple[str, int]]:
    with db.transaction() as tx:
        return [(m.state.value, m.attempts) for m in tx.scalars(select(SmsMessage).order_by(SmsMessage.id))]


def test_smpp_session_binds_checks_the_link_and_segments_long_messages():
    server = SmscServer().start()
    try:
        gateway = smpp(server.port)
        gateway.open()
        short = gateway.send("13800138000", "【信访】您的接访已预约。", reference="a")
        long_text = "【信访】" + "您的信访事项已登记，请妥善保管查询码。" * 8
        long_id = gateway.send("13900139000", long_text, reference="b")
        gateway.close()
    finally:
        server.stop()
    first, second = server.received()
    assert (first.text, first.parts, first.data_coding, short) == ("【信访】您的接访已预约。", 1, 8, "M1")
    assert second.text == long_text and second.parts == 3 and long_id == "M2,M3,M4"
    assert server.state.commands == ["bind_transceiver", "enquire_link", "submit_sm", "submit_sm", "submit_sm",
                                     "submit_sm", "unbind"]


def test_a_wrong_password_or_no_listener_is_unavailable():
    server = SmscServer().start()
    try:
        with pytest.raises(GatewayUnavailable):
            smpp(server.port, password="wrong").open()
        assert server.state.binds == [("vreception", "refused")]
    finally:
        server.stop()
    with pytest.raises(GatewayUnavailable):
        smpp(server.port).open()


def test_messages_wait_while_the_gateway_is_down_and_go_out_once_when_it_returns(db, settings):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        for serial in (1, 2, 3):
            register_matter(tx, org, settings, serial=serial, phone=f"1380013800{serial}",
                            summary=f"第{serial}件：拖欠工资问题")
    server = SmscServer(SmscServer.free_port())  # not listening yet: the operator's SMSC is down
    sms = SmsSettings(_env_file=None, backoff_seconds=60)
    protector = Protector(settings.effective_secret_key())
    for _ in range(3):
        outcome = outbox.send_due(db, gateway=smpp(server.port), protector=protector, settings=sms)
        assert outcome.unavailable and outcome.sent == 0
    assert states(db) == [("queued", 0)] * 3  # nothing lost, no attempt used up
    server.start()
    try:
        assert outbox.send_due(db, gateway=smpp(server.port), protector=protector, settings=sms).sent == 3
        assert outbox.send_due(db, gateway=smpp(server.port), protector=protector, settings=sms).sent == 0
    finally:
        server.stop()
    assert sorted(m.destination for m in server.received()) == [f"861380013800{i}" for i in (1, 2, 3)]
    assert states(db) == [("sent", 1)] * 3


def test_a_link_lost_mid_batch_retries_the_unanswered_message_later(db, settings):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        register_matter(tx, org, settings, serial=1, phone="13800138001")
        register_matter(tx, org, settings, serial=2, phone="13800138002", summary="征地补偿款未发放")
        register_matter(tx, org, settings, serial=3, phone="13800138003", summary="小区噪音扰民")
    server = SmscServer().start()
    server.state.hang_up_after = 2  # the first message (two parts) is answered, then the SMSC hangs up
    protector = Protector(settings.effective_secret_key())
    sms = SmsSettings(_env_file=None, backoff_seconds=60)
    try:
        outcome = outbox.send_due(db, gateway=smpp(server.port), protector=protector, settings=sms)
        # The second was handed over unanswered (an attempt, retried after the backoff); the third never left.
        assert (outcome.sent, outcome.retried) == (1, 1)
        assert states(db) == [("sent", 1), ("queued", 1), ("queued", 0)]
        server.state.hang_up_after = None
        clock.travel_to(NOW + timedelta(seconds=61))
        assert outbox.send_due(db, gateway=smpp(server.port), protector=protector, settings=sms).sent == 2
    finally:
        server.stop()
    assert states(db) == [("sent", 1), ("sent", 2), ("sent", 1)]
    assert sorted(m.destination for m in server.received()) == [f"861380013800{i}" for i in (1, 2, 3)]


class CloudSms(BaseHTTPRequestHandler):
    """A cloud SMS service: bearer token, JSON in, {"id": …} out; a phone number picks the answer."""

    received: list[dict] = []
    answers = {"13800138000": (200, {"id": "cloud-1"}), "13800138500": (503, {}), "13800138400": (400, {}),
               "13800138429": (429, {}), "13800138222": (200, {"status": "ok"})}

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers["Authorization"] != "Bearer token-1":
            self.send_response(401)
            self.end_headers()
            return
        CloudSms.received.append({**body, "key": self.headers["Idempotency-Key"]})
        status, answer = self.answers[body["phone"]]
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def cloud():
    CloudSms.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CloudSms)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    server.shutdown()
    server.server_close()


def test_http_adapter_maps_answers_to_ids_retries_and_refusals(cloud):
    gateway = HttpGateway(cloud, "token-1", timeout=5)
    assert gateway.send("13800138000", "【信访】测试", reference="vreception-sms-1") == "cloud-1"
    assert CloudSms.received == [{"phone": "13800138000", "text": "【信访】测试", "reference": "vreception-sms-1",
                                  "key": "vreception-sms-1"}]
    for phone, error in (("13800138500", RetryableError), ("13800138429", RetryableError),
                         ("13800138400", PermanentError), ("13800138222", RetryableError)):
        with pytest.raises(error) as raised:
            gateway.send(phone, "x", reference="r")
        assert not isinstance(raised.value, GatewayUnavailable)
    with pytest.raises(PermanentError):
        HttpGateway(cloud, "wrong-token").send("13800138000", "x", reference="r")  # 401


def test_http_adapter_down_is_unavailable():
    with pytest.raises(GatewayUnavailable):
        HttpGateway(f"http://127.0.0.1:{SmscServer.free_port()}/sms", "token-1", timeout=5).send(
            "13800138000", "x", reference="r")


def test_http_outbox_end_to_end(db, settings, cloud):
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        register_matter(tx, org, settings, phone="13800138000")
    outcome = outbox.send_due(db, gateway=HttpGateway(cloud, "token-1"), protector=Protector(
        settings.effective_secret_key()), settings=SmsSettings(_env_file=None))
    assert outcome.sent == 1
    with db.transaction() as tx:
        message = tx.scalars(select(SmsMessage)).one()
        assert (message.state, message.gateway, message.gateway_id) == (SmsState.sent, "http", "cloud-1")
    assert CloudSms.received[0]["key"] == f"vreception-sms-{message.id}"


def test_the_settings_choose_the_gateway_and_production_needs_its_secret():
    from vreception.config import InsecureConfiguration
    from vreception.sms.configured import gateway_from

    assert gateway_from(SmsSettings(_env_file=None)) is None  # none by default: messages stay queued
    assert isinstance(gateway_from(SmsSettings(_env_file=None, gateway="http", http_url="https://sms.example")),
                      HttpGateway)
    with pytest.raises(InsecureConfiguration):
        gateway_from(SmsSettings(_env_file=None, gateway="smpp", smpp_host="smsc"), production=True)
    with pytest.raises(InsecureConfiguration):
        gateway_from(SmsSettings(_env_file=None, gateway="http", http_url="https://sms.example"), production=True)
    chosen = gateway_from(SmsSettings(_env_file=None, gateway="smpp", smpp_host="smsc", smpp_password="p"),
                          production=True)
    assert isinstance(chosen, SmppGateway) and chosen.host == "smsc"


def sms_events(db, message_id: int) -> list[tuple[str, dict]]:
    with db.transaction() as tx:
        return [(e.action, json.loads(e.data)) for e in tx.scalars(select(AuditEvent).where(
            AuditEvent.entity_type == "sms", AuditEvent.entity_id == str(message_id)).order_by(AuditEvent.seq))]


def one_message(db) -> SmsMessage:
    with db.transaction() as tx:
        message = tx.scalars(select(SmsMessage)).one()
        tx.expunge(message)
        return message


@pytest.fixture
def receipting():
    server = SmscServer().start()
    server.state.receipts = True
    yield server
    server.stop()


def register_one(db, settings, phone: str = "13800138000") -> int:
    org = build_org(db)
    clock.travel_to(NOW)
    with db.transaction() as tx:
        matter, _ = register_matter(tx, org, settings, phone=phone)
        return matter.id


def test_a_message_sent_over_smpp_ends_delivered_with_its_receipt_audited(db, settings, receipting):
    from vreception.i18n import translate
    from web.sms_section import sms_section

    matter_id = register_one(db, settings)
    outcome = outbox.send_due(db, gateway=smpp(receipting.port), protector=Protector(settings.effective_secret_key()),
                              settings=SmsSettings(_env_file=None))
    assert (outcome.sent, outcome.delivered, outcome.undelivered) == (1, 1, 0)
    message = one_message(db)
    # The registration text carries a query code: two parts, both receipted on the bind that sent them.
    assert (message.state, message.gateway_id, message.delivered_parts) == (SmsState.delivered, "M1,M2", "M1,M2")
    assert message.delivered_at is not None and message.error == ""
    assert receipting.state.acknowledged == ["M1", "M2"]  # each deliver_sm answered with deliver_sm_resp
    assert receipting.state.commands[:2] == ["bind_transceiver", "enquire_link"]
    events = sms_events(db, message.id)
    assert [action for action, _ in events] == ["sms.queued", "sms.sending", "sms.sent", "sms.delivered"]
    assert events[-1][1].items() >= {"state": "delivered", "receipt": "DELIVRD", "part": "M2", "matter_id": matter_id}.items()
    # The matter page's section shows it as delivered (已送达).
    with db.transaction() as tx:
        [shown] = sms_section(tx.get(Matter, matter_id), db=tx)["sms_messages"]
        key = sms_section(tx.get(Matter, matter_id), db=tx)["sms_keys"]["state"][shown.state.value]
    assert shown.state is SmsState.delivered and translate(key) == "已送达"


def test_an_undeliverable_number_ends_failed_with_the_reason(db, settings, receipting):
    register_one(db, settings, phone="13800138999")
    receipting.state.undeliverable = {"8613800138999"}
    outcome = outbox.send_due(db, gateway=smpp(receipting.port), protector=Protector(settings.effective_secret_key()),
                              settings=SmsSettings(_env_file=None))
    assert (outcome.sent, outcome.delivered, outcome.undelivered) == (1, 0, 1)
    message = one_message(db)
    assert (message.state, message.error, message.delivered_at) == (SmsState.failed, "undelivered: UNDELIV", None)
    events = sms_events(db, message.id)
    # The second part's receipt comes for a message already failed: it changes nothing, and is not an error.
    assert [action for action, _ in events] == ["sms.queued", "sms.sending", "sms.sent", "sms.failed"]
    assert events[-1][1]["receipt"] == "UNDELIV" and events[-1][1]["part"] == "M1"
    assert receipting.state.acknowledged == ["M1", "M2"]


def test_receipts_held_by_the_smsc_land_on_the_next_bind(db, settings, receipting):
    register_one(db, settings)
    receipting.state.hold_receipts = True  # the SMSC reports delivery only after the sender unbound
    protector, sms = Protector(settings.effective_secret_key()), SmsSettings(_env_file=None)
    first = outbox.send_due(db, gateway=smpp(receipting.port, receipt_wait=0.2), protector=protector, settings=sms)
    assert (first.sent, first.delivered) == (1, 0)
    assert one_message(db).state is SmsState.sent and receipting.state.acknowledged == []
    receipting.state.hold_receipts = False
    # The next run has nothing to send; its bind is handed both held receipts.
    later = outbox.send_due(db, gateway=smpp(receipting.port), protector=protector, settings=sms)
    assert (later.sent, later.delivered) == (0, 1)
    message = one_message(db)
    assert (message.state, message.delivered_parts) == (SmsState.delivered, "M1,M2")
    assert receipting.state.acknowledged == ["M1", "M2"]
    assert [a for a, _ in sms_events(db, message.id)][-1] == "sms.delivered"
    # A receipt for an id the outbox never sent (another system on the account, or long gone) is logged and skipped.
    receipting.state.held.append(("X404", "8613800138000", "DELIVRD"))
    assert outbox.send_due(db, gateway=smpp(receipting.port), protector=protector, settings=sms).delivered == 0
    assert receipting.state.acknowledged[-1] == "X404"


def test_a_two_part_message_is_delivered_only_once_both_parts_receipts_came_on_different_binds(db, settings,
                                                                                             receipting):
    register_one(db, settings)
    receipting.state.hold_ids = {"M2"}  # the second part's receipt comes on the next bind
    protector, sms = Protector(settings.effective_secret_key()), SmsSettings(_env_file=None)
    first = outbox.send_due(db, gateway=smpp(receipting.port, receipt_wait=0.2), protector=protector, settings=sms)
    assert (first.sent, first.delivered) == (1, 0)
    message = one_message(db)
    assert (message.state, message.gateway_id, message.delivered_parts) == (SmsState.sent, "M1,M2", "M1")
    assert [a for a, _ in sms_events(db, message.id)][-1] == "sms.sent"
    second = outbox.send_due(db, gateway=smpp(receipting.port), protector=protector, settings=sms)
    assert second.delivered == 1
    message = one_message(db)
    assert (message.state, message.delivered_parts) == (SmsState.delivered, "M1,M2")
    assert receipting.state.acknowledged == ["M1", "M2"]
