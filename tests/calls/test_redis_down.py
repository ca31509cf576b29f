"""A Redis that does not answer: the start stops with a clear error, joins close with a code, shutdown finishes."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from signaling.closecodes import CloseCode
from tests.calls.helpers import join_token
from tests.factories import book_walk_in
from vreception.app import create_app
from web.calls.service import SharedStateUnavailable

pytestmark = pytest.mark.slow


class RedisProxy:
    """A TCP relay on loopback to the real Redis, which the test can cut (as a lost Redis host would be)."""

    def __init__(self, target=("127.0.0.1", 6379)):
        self.target, self.sockets, self.open = target, [], True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        """Close the listener and every relayed connection: Redis is gone."""
        self.open = False
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def test_an_unreachable_redis_stops_the_start_with_a_clear_error(settings, db):
    app = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}), db)
    started = time.monotonic()
    with pytest.raises(SharedStateUnavailable, match="Redis at redis://127.0.0.1:1/0 does not answer"):
        with TestClient(app):
            pass
    assert time.monotonic() - started < 10


def test_a_lost_redis_closes_joins_with_a_code_reports_unhealthy_and_lets_the_server_stop(settings, db, org):
    proxy = RedisProxy()
    app = create_app(settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{proxy.port}/0"}), db)
    client = TestClient(app)
    with client:
        assert client.get("/healthz").json() == {"status": "ok"}
        session = book_walk_in(client, org)
        _, token = join_token(client, session, "leader", "leader.county")
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect(f"/ws/sessions/{session['id']}?token={token}") as socket_:
                socket_.receive_text()
        assert closed.value.code == CloseCode.UNAVAILABLE
        assert time.monotonic() - started < 12
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["redis"] == "unreachable"
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 15  # the shutdown does not hang on the lost Redis
