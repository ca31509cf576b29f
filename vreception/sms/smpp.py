"""The SMPP 3.4 adapter (smpplib): bind_transmitter, enquire_link, submit_sm in UCS-2 with UDH segmentation."""

from __future__ import annotations

import logging
from typing import Any

import smpplib.client  # type: ignore[import-untyped]
import smpplib.consts  # type: ignore[import-untyped]
import smpplib.exceptions  # type: ignore[import-untyped]
import smpplib.gsm  # type: ignore[import-untyped]
import smpplib.smpp  # type: ignore[import-untyped]

from vreception.sms.gateways import GatewayUnavailable, PermanentError, RetryableError

log = logging.getLogger("vreception.sms.smpp")
# Command statuses after which the same message may succeed later; any other refusal is final.
RETRYABLE_STATUSES = {smpplib.consts.SMPP_ESME_RTHROTTLED, smpplib.consts.SMPP_ESME_RMSGQFUL,
                      smpplib.consts.SMPP_ESME_RSYSERR, smpplib.consts.SMPP_ESME_RSUBMITFAIL}


class SmppGateway:
    """One transmitter bind per batch: open() binds and checks the link, send() submits each part."""

    name = "smpp"

    def __init__(self, *, host: str, port: int, system_id: str, password: str, system_type: str = "",
                 source_addr: str = "", timeout: float = 10):
        self.host, self.port, self.timeout = host, port, timeout
        self.system_id, self.password, self.system_type, self.source_addr = system_id, password, system_type, source_addr
        self._client: Any = None

    def open(self) -> None:
        client = smpplib.client.Client(self.host, self.port, timeout=self.timeout, allow_unknown_opt_params=True)
        try:
            client.connect()
            client.bind_transmitter(system_id=self.system_id, password=self.password, system_type=self.system_type)
            self._client = client
            self._request(smpplib.smpp.make_pdu("enquire_link", client=client), "enquire_link_resp")
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as error:
            self._client = None
            client.disconnect()
            raise GatewayUnavailable(f"SMPP {self.host}:{self.port}: {error or type(error).__name__}") from None

    def _request(self, pdu: Any, answer: str) -> Any:
        """Send PDU and read until its answer, answering the SMSC's own enquire_link meanwhile."""
        self._client.send_pdu(pdu)
        while True:
            got = self._client.read_pdu()
            if got.command == "enquire_link":
                reply = smpplib.smpp.make_pdu("enquire_link_resp", client=self._client)
                reply.sequence = got.sequence  # make_pdu ignores a sequence given as an argument
                self._client.send_pdu(reply)
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
                    registered_delivery=0)
                answer = self._request(pdu, "submit_sm_resp")
                if answer.is_error():
                    status = int(answer.status)
                    detail = f"SMPP submit_sm status 0x{status:08X}"
                    raise RetryableError(detail) if status in RETRYABLE_STATUSES else PermanentError(detail)
                message_id = answer.message_id
                ids.append(message_id.decode() if isinstance(message_id, bytes) else str(message_id))
        except (TimeoutError, smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as error:
            # The link broke mid-message: whether the SMSC took it is unknown, so it counts as an attempt.
            self.close()
            raise RetryableError(f"SMPP link lost: {error or type(error).__name__}") from None
        return ",".join(ids)[:100]

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.unbind()
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            pass
        client.disconnect()
