"""A small SMSC for the tests: speaks SMPP 3.4 over TCP on loopback, PDUs parsed and built by smpplib.

It answers bind_transmitter, bind_transceiver, submit_sm, enquire_link and unbind; it reassembles UDH-concatenated
UCS-2 messages and keeps every message it accepted, so a test reads what a phone would receive. With `receipts` on,
a transceiver that asked for one (registered_delivery=1) gets a deliver_sm delivery receipt for each part it
submitted, right after the submit_sm_resp, or at its next bind (`hold_receipts`, `hold_ids`), as an SMSC hands its
held receipts to the next bind of the account; a number in `undeliverable` gets UNDELIV instead of DELIVRD.
"""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

import smpplib.consts
import smpplib.smpp


@dataclass
class Received:
    destination: str
    text: str
    parts: int
    data_coding: int
    message_id: str


@dataclass
class SmscState:
    messages: list[Received] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    binds: list[tuple[str, str]] = field(default_factory=list)
    refuse_next: list[int] = field(default_factory=list)  # statuses to answer the next submit_sm with
    hang_up_after: int | None = None  # close the connection once this many submit_sm were accepted in all
    pending: dict[int, dict[int, bytes]] = field(default_factory=dict)
    counter: int = 0
    receipts: bool = False  # send delivery receipts (off: an SMSC that reports nothing, the message stays sent)
    undeliverable: set[str] = field(default_factory=set)  # destinations ("8613800138000") whose parts are lost
    hold_receipts: bool = False  # every receipt waits for the next bind
    hold_ids: set[str] = field(default_factory=set)  # the receipts of these message ids wait for the next bind
    held: list[tuple[str, str, str]] = field(default_factory=list)  # (message id, destination, stat) to hand over
    acknowledged: list[str] = field(default_factory=list)  # message ids whose receipt got its deliver_sm_resp
    # deliver_sm sequence → its receipt, until answered; a receipt still unanswered when its bind ends is held again.
    unanswered: dict[int, tuple[str, str, str]] = field(default_factory=dict)
    sequence: int = 0


class _Numbering:
    """What smpplib's PDU classes ask of their client: sequence numbers (the server only echoes the request's)."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


NUMBERING = _Numbering()


def _receipt(message_id: str, destination: str, stat: str, sequence: int) -> bytes:
    """A deliver_sm delivery receipt as SMSCs send it: both TLVs and the appendix B text."""
    state = (smpplib.consts.SMPP_MESSAGE_STATE_DELIVERED if stat == "DELIVRD"
             else smpplib.consts.SMPP_MESSAGE_STATE_UNDELIVERABLE)
    text = (f"id:{message_id} sub:001 dlvrd:{'001' if stat == 'DELIVRD' else '000'} submit date:2603040845 "
            f"done date:2603040846 stat:{stat} err:{'000' if stat == 'DELIVRD' else '001'} text:").encode()
    pdu = smpplib.smpp.make_pdu("deliver_sm", client=NUMBERING, source_addr=destination, destination_addr="10612345",
                                esm_class=0x04, short_message=text, receipted_message_id=message_id,
                                message_state=state)
    pdu.sequence = sequence
    return pdu.generate()


def _answer(command: str, request, **values):
    pdu = smpplib.smpp.make_pdu(command, client=NUMBERING)
    # make_pdu keeps a request's defaults for these: they are set on the object.
    pdu.sequence = request.sequence
    for name, value in values.items():
        setattr(pdu, name, value)
    return pdu.generate()


class SmscServer:
    """Listens on 127.0.0.1:PORT (0: any free port) until stop(); start() again on the same port after a stop."""

    def __init__(self, port: int = 0, *, system_id: str = "vreception", password: str = "secret"):
        self.port, self.system_id, self.password = port, system_id, password
        self.state = SmscState()
        self.lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    @staticmethod
    def free_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]

    def start(self) -> SmscServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        self.port = listener.getsockname()[1]
        self._listener = listener
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    @staticmethod
    def _read(connection: socket.socket, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def _hand_over(self, connection: socket.socket, receipts: list[tuple[str, str, str]], sent: set[int]) -> None:
        for receipt in receipts:
            with self.lock:
                self.state.sequence += 1
                sequence = self.state.sequence
                self.state.unanswered[sequence] = receipt
            sent.add(sequence)
            connection.sendall(_receipt(*receipt, sequence))

    def _serve(self, connection: socket.socket) -> None:
        sent: set[int] = set()
        try:
            self._converse(connection, sent)
        finally:
            with self.lock:
                self.state.held.extend(self.state.unanswered.pop(s) for s in sorted(sent)
                                       if s in self.state.unanswered)

    def _converse(self, connection: socket.socket, sent: set[int]) -> None:
        bound = transceiver = False
        with connection:
            while True:
                try:
                    head = self._read(connection, 4)
                    raw = head + self._read(connection, struct.unpack(">L", head)[0] - 4)
                except (ConnectionError, OSError):
                    return
                request = smpplib.smpp.parse_pdu(raw, client=NUMBERING, allow_unknown_opt_params=True)
                with self.lock:
                    self.state.commands.append(request.command)
                if request.command in ("bind_transmitter", "bind_transceiver"):
                    ok = (request.system_id.decode(), request.password.decode()) == (self.system_id, self.password)
                    with self.lock:
                        self.state.binds.append((request.system_id.decode(), "ok" if ok else "refused"))
                        held = []
                        if ok and request.command == "bind_transceiver":
                            held, self.state.held = self.state.held, []
                    bound, transceiver = ok, ok and request.command == "bind_transceiver"
                    connection.sendall(_answer(f"{request.command}_resp", request, system_id="smsc",
                                               status=0 if ok else smpplib.consts.SMPP_ESME_RBINDFAIL))
                    self._hand_over(connection, held, sent)
                elif request.command == "deliver_sm_resp":
                    with self.lock:
                        if request.sequence in self.state.unanswered:
                            self.state.acknowledged.append(self.state.unanswered.pop(request.sequence)[0])
                elif request.command == "enquire_link":
                    connection.sendall(_answer("enquire_link_resp", request))
                elif request.command == "unbind":
                    connection.sendall(_answer("unbind_resp", request))
                    return
                elif request.command == "submit_sm" and bound:
                    with self.lock:
                        hang_up = self.state.hang_up_after is not None and self.state.counter >= self.state.hang_up_after
                    if hang_up:
                        return  # the SMSC went away: this submit_sm is never answered
                    answer, receipt = self._submit(request)
                    connection.sendall(answer)
                    if receipt is not None and transceiver:
                        self._hand_over(connection, [receipt], sent)
                    elif receipt is not None:
                        with self.lock:
                            self.state.held.append(receipt)  # a transmitter takes no receipts: for a later bind
                else:
                    connection.sendall(_answer("generic_nack", request, status=smpplib.consts.SMPP_ESME_RINVBNDSTS))

    def _submit(self, request) -> tuple[bytes, tuple[str, str, str] | None]:
        """The submit_sm_resp, and the receipt to send now (None: none asked for, or held for the next bind)."""
        with self.lock:
            if self.state.refuse_next:
                return _answer("submit_sm_resp", request, status=self.state.refuse_next.pop(0)), None
            self.state.counter += 1
            message_id = f"M{self.state.counter}"
            body = request.short_message
            destination = request.destination_addr.decode()
            receipt = None
            if self.state.receipts and request.registered_delivery & 0x01:
                receipt = (message_id, destination, "UNDELIV" if destination in self.state.undeliverable else "DELIVRD")
                if self.state.hold_receipts or message_id in self.state.hold_ids:
                    self.state.held.append(receipt)
                    receipt = None
            if request.esm_class & smpplib.consts.SMPP_GSMFEAT_UDHI:
                header_length = body[0]
                ref, total, index = body[header_length - 2], body[header_length - 1], body[header_length]
                parts = self.state.pending.setdefault(ref, {})
                parts[index] = body[header_length + 1:]
                if len(parts) == total:
                    del self.state.pending[ref]
                    text = b"".join(parts[i] for i in sorted(parts)).decode("utf-16-be")
                    self.state.messages.append(Received(destination, text, total, request.data_coding, message_id))
            else:
                coding = "utf-16-be" if request.data_coding == 8 else "latin-1"
                self.state.messages.append(Received(destination, body.decode(coding), 1, request.data_coding,
                                                    message_id))
            return _answer("submit_sm_resp", request, message_id=message_id), receipt

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.state.messages)
