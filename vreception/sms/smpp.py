"""The SMPP 3.4 adapter (smpplib): bind_transceiver, enquire_link, submit_sm in UCS-2 with UDH segmentation, and
the SMSC's delivery receipts (deliver_sm) answered and collected on the same bind."""

from __future__ import annotations

import logging
import select
import time
from typing import Any

import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]
import smpplib.gsm  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

from vreception.sms.gateways import GatewayUnavailable, PermanentError, RetryableError
from vreception.sms.receipts import Receipt, parse

log = logging.getLogger("vreception.sms.smpp")
# Command statuses after which the same message may succeed later; any other refusal is final.
RETRYABLE_STATUSES = {smpplib.consts.SMPP_ESME_RTHROTTLED, smpplib.consts.SMPP_ESME_RMSGQFUL,
                      smpplib.consts.SMPP_ESME_RSYSERR, smpplib.consts.SMPP_ESME_RSUBMITFAIL}
LINK_ERRORS = (TimeoutError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError)
MAX_RECEIPT_WAIT = 1.0  # seconds close() may spend reading receipts; the rest come on a later bind


class SmppGateway:
    """One transceiver bind per batch: open() binds and checks the link, send() submits each part asking for a
    delivery receipt, close() reads the receipts of this bind for up to RECEIPT_WAIT seconds and unbinds."""

    name = "smpp"

    def __init__(self, *, host: str, port: int, system_id: str, password: str, system_type: str = "",
                 source_addr: str = "", timeout: float = 10, receipt_wait: float = MAX_RECEIPT_WAIT):
        self.host, self.port, self.timeout = host, port, timeout
        self.system_id, self.password, self.system_type, self.source_addr = system_id, password, system_type, source_addr
        self.receipt_wait = min(max(receipt_wait, 0.0), MAX_RECEIPT_WAIT)
        self._client: Any = None
        self._receipts: list[Receipt] = []
        self._awaited: set[str] = set()  # part ids submitted on this bind whose receipt has not come yet

    def open(self) -> None:
        client = smpplib.client.Client(self.host, self.port, timeout=self.timeout, allow_unknown_opt_params=True)
        self._receipts, self._awaited = [], set()
        try:
            client.connect()
            # A transceiver: the SMSC hands it the receipts it holds for this account, on this bind or the next.
            client.bind_transceiver(system_id=self.system_id, password=self.password, system_type=self.system_type)
            self._client = client
            self._request(smpplib.smpp.make_pdu("enquire_link", client=client), "enquire_link_resp")
        except LINK_ERRORS as error:
            self._client = None
            client.disconnect()
            raise GatewayUnavailable(f"SMPP {self.host}:{self.port}: {error or type(error).__name__}") from None

    def _answer(self, request: Any, command: str) -> None:
        reply = smpplib.smpp.make_pdu(command, client=self._client)
        reply.sequence = request.sequence  # make_pdu ignores a sequence given as an argument
        self._client.send_pdu(reply)

    def _handle(self, got: Any) -> bool:
        """Answer what the SMSC sends on its own (enquire_link, deliver_sm); True when GOT was one of those."""
        if got.command == "enquire_link":
            self._answer(got, "enquire_link_resp")
            return True
        if got.command == "deliver_sm":
            self._answer(got, "deliver_sm_resp")  # acknowledged once read: the SMSC does not send it again
            receipt = parse(got)
            if receipt is None:
                log.info("SMPP: a deliver_sm that is not a delivery receipt, ignored")
            else:
                self._receipts.append(receipt)
                self._awaited.discard(receipt.message_id)
            return True
        return False

    def _request(self, pdu: Any, answer: str) -> Any:
        """Send PDU and read until its answer, answering the SMSC's own PDUs meanwhile."""
        self._client.send_pdu(pdu)
        while True:
            got = self._client.read_pdu()
            if self._handle(got):
                continue
            if got.command == answer or got.command == "generic_nack":
                return got
            log.warning("SMPP: unexpected %s while waiting for %s", got.command, answer)

    def send(self, phone: str, text: str, *, reference: str) -> str:
        if self._client is None:
            raise GatewayUnavailable("SMPP not bound")
        parts, coding, esm_class = smpplib.gsm.make_parts(text, encoding=smpplib.consts.SMPP_ENCODING_ISO10646)
        ids = []
        try:
            for part in parts:
                pdu = smpplib.smpp.make_pdu(
                    "submit_sm", client=self._client, source_addr_ton=smpplib.consts.SMPP_TON_UNK,
                    source_addr_npi=smpplib.consts.SMPP_NPI_ISDN, source_addr=self.source_addr,
                    dest_addr_ton=smpplib.consts.SMPP_TON_INTL, dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                    destination_addr=f"86{phone}", short_message=part, data_coding=coding, esm_class=esm_class,
                    registered_delivery=smpplib.consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH)
                answer = self._request(pdu, "submit_sm_resp")
                if answer.is_error():
                    status = int(answer.status)
                    detail = f"SMPP submit_sm status 0x{status:08X}"
                    raise RetryableError(detail) if status in RETRYABLE_STATUSES else PermanentError(detail)
                message_id = answer.message_id
                ids.append(message_id.decode() if isinstance(message_id, bytes) else str(message_id))
                self._awaited.add(ids[-1])
        except LINK_ERRORS as error:
            # The link broke mid-message: whether the SMSC took it is unknown, so it counts as an attempt.
            self.close()
            raise RetryableError(f"SMPP link lost: {error or type(error).__name__}") from None
        return ",".join(ids)

    def _await_receipts(self) -> None:
        """Read receipts until every part sent on this bind has one, or RECEIPT_WAIT has passed."""
        deadline = time.monotonic() + self.receipt_wait
        while self._awaited and (left := deadline - time.monotonic()) > 0:
            # Wait for a whole PDU to start arriving, so a timeout never cuts one in half.
            readable, _, _ = select.select([self._client._socket], [], [], left)
            if not readable:
                return
            got = self._client.read_pdu()
            if not self._handle(got):
                log.warning("SMPP: unexpected %s while reading receipts", got.command)

    def receipts(self) -> list[Receipt]:
        """The delivery receipts read since open()."""
        return list(self._receipts)

    def close(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            self._await_receipts()
            self._request(smpplib.smpp.make_pdu("unbind", client=client), "unbind_resp")
        except LINK_ERRORS:
            pass
        self._client = None
        client.disconnect()
