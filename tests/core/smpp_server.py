"""A small SMSC for the tests: speaks SMPP 3.4 over TCP on loopback, PDUs parsed and built by smpplib.

It answers bind_transmitter, submit_sm, enquire_link and unbind; it reassembles UDH-concatenated UCS-2 messages
and keeps every message it accepted, so a test reads what a phone would receive.
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


class _Numbering:
    """What smpplib's PDU classes ask of their client: sequence numbers (the server only echoes the request's)."""

    sequence = 0

    def next_sequence(self) -> int:
        return 0


NUMBERING = _Numbering()


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

    def _serve(self, connection: socket.socket) -> None:
        bound = False
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
                if request.command == "bind_transmitter":
                    ok = (request.system_id.decode(), request.password.decode()) == (self.system_id, self.password)
                    with self.lock:
                        self.state.binds.append((request.system_id.decode(), "ok" if ok else "refused"))
                    bound = ok
                    connection.sendall(_answer("bind_transmitter_resp", request, system_id="smsc",
                                               status=0 if ok else smpplib.consts.SMPP_ESME_RBINDFAIL))
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
                    connection.sendall(self._submit(request))
                else:
                    connection.sendall(_answer("generic_nack", request, status=smpplib.consts.SMPP_ESME_RINVBNDSTS))

    def _submit(self, request) -> bytes:
        with self.lock:
            if self.state.refuse_next:
                return _answer("submit_sm_resp", request, status=self.state.refuse_next.pop(0))
            self.state.counter += 1
            message_id = f"M{self.state.counter}"
            body = request.short_message
            destination = request.destination_addr.decode()
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
            return _answer("submit_sm_resp", request, message_id=message_id)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.state.messages)
