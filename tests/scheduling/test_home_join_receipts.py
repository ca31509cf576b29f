"""SMPP delivery receipts (vreception/sms/receipts.py) for the home link's SMS: real deliver_sm PDUs, built and parsed
by smpplib as they cross the wire, move the outbox's message to delivered or failed."""

from __future__ import annotations

from datetime import timedelta

import smpplib.consts
import smpplib.smpp

from tests.scheduling.test_home_join import START, issue
from vreception import clock
from vreception.models.sms import SmsMessage, SmsState
from vreception.sms import receipts

from .test_home_join import scene  # noqa: F401  (the fixture)


class _Numbering:
    sequence = 0

    def next_sequence(self) -> int:
        return 7


def wire(text: bytes, **values) -> object:
    """A deliver_sm receipt as an SMSC sends it, read back from its bytes."""
    values.setdefault("esm_class", receipts.RECEIPT_FLAG)  # SMPP 3.4 §5.2.12: an SMSC delivery receipt
    pdu = smpplib.smpp.make_pdu("deliver_sm", client=_Numbering(),
                                short_message=text, source_addr="8613800138000", destination_addr="10612345",
                                **values)
    return smpplib.smpp.parse_pdu(pdu.generate(), client=_Numbering(), allow_unknown_opt_params=True)


def receipt_text(message_id: str, stat: str) -> bytes:
    return (f"id:{message_id} sub:001 dlvrd:001 submit date:2603040845 done date:2603040846 stat:{stat} err:000 "
            "text:").encode()


def test_receipts_of_every_part_deliver_a_message_and_a_lost_part_fails_it(db, org, scene):  # noqa: F811
    clock.travel_to(START - timedelta(hours=1))
    issue(db, org, scene)
    with db.transaction() as tx:
        message = tx.query(SmsMessage).filter_by(template="home_link").one()
        message.state, message.gateway, message.gateway_id = SmsState.sent, "smpp", "M1,M2,M3"
    parsed = [receipts.parse(wire(receipt_text(f"M{i}", "DELIVRD"))) for i in (1, 2, 3)]
    assert parsed[0] == receipts.Receipt("M1", "DELIVRD")
    assert receipts.parse(wire(b"hello", esm_class=0)) is None  # a message from a phone, not a receipt
    # Each receipt in its own transaction, as when they come on different binds: the delivered parts are kept.
    for receipt, expected in zip(parsed, [None, None, "delivered"], strict=True):
        with db.transaction() as tx:
            assert receipts.apply(receipt, db=tx) == expected
    with db.transaction() as tx:
        message = tx.query(SmsMessage).filter_by(template="home_link").one()
        assert message.state is SmsState.delivered and message.delivered_at is not None
        assert message.delivered_parts == "M1,M2,M3"
        message.state, message.gateway_id, message.delivered_at = SmsState.sent, "M9", None
    # The TLVs, when the SMSC sends them, name the part and its state without the text.
    lost = receipts.parse(wire(b"", receipted_message_id="M9",
                               message_state=smpplib.consts.SMPP_MESSAGE_STATE_UNDELIVERABLE))
    assert lost == receipts.Receipt("M9", "UNDELIV")
    with db.transaction() as tx:
        assert receipts.apply(lost, db=tx) == "failed"
        assert receipts.apply(receipts.Receipt("M404", "DELIVRD"), db=tx) is None
    with db.transaction() as tx:
        message = tx.query(SmsMessage).filter_by(template="home_link").one()
        assert (message.state, message.error) == (SmsState.failed, "undelivered: UNDELIV")
