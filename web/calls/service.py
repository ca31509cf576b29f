"""One process's share of the calls: its sockets, the shared room state and bus, its media hubs."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from recordings import renegotiation
from recordings.live import LiveRecording
from recordings.storage import storage_from_settings
from scheduling.policy import policy_from
from recordings.sfu import MediaHub
from signaling import (
    CloseCode,
    MemoryBus,
    MemoryStateStore,
    ProtocolError,
    Send,
    TokenBucket,
    dump,
    error_message,
    listen,
    parse_client_message,
    session_channel,
    update_room,
)
from signaling import rooms
from vreception.auth import tokens
from vreception.clock import now
from vreception.errors import Unauthenticated
from web.calls import persist

log = logging.getLogger("vreception.calls")
JOIN_PURPOSE = "join"
MAX_INVALID_IN_A_ROW = 10
ENDING = {"ended", "cancelled", "no_show"}


@dataclass
class Connection:
    """A participant's socket in this process."""

    websocket: WebSocket
    participant_id: int
    connection: int
    bucket: TokenBucket = field(default_factory=TokenBucket)
    invalid: int = 0


class CallService:
    """Serves /ws/sessions/{id}: authentication, the signaling steps, fan-out, media and persistence."""

    def __init__(self, *, db, secret: str, settings):
        self.db, self.secret, self.settings = db, secret, settings
        if settings.redis_url:
            from signaling.redis_bus import RedisBus, RedisStateStore

            self.bus, self.store = RedisBus.from_url(settings.redis_url), RedisStateStore.from_url(settings.redis_url)
        else:
            self.bus, self.store = MemoryBus(), MemoryStateStore()
        self.sockets: dict[int, dict[int, Connection]] = {}
        self.listeners: dict[int, asyncio.Task] = {}
        self.listener_ready: dict[int, asyncio.Event] = {}
        self.hubs: dict[int, MediaHub] = {}
        # Per (session, participant): the extension ids and payload types of their own offer.
        self.numbers: dict[tuple[int, int], renegotiation.Numbers] = {}
        self.recordings: dict[int, LiveRecording] = {}
        self._storage = None
        self.policy = policy_from(settings)

    # --- connection life -------------------------------------------------------------------

    async def serve(self, websocket: WebSocket, session_id: int) -> None:
        """Run one participant's socket from the token check to the disconnect."""
        await websocket.accept()
        try:
            claims = tokens.read(self.secret, websocket.query_params.get("token", ""), purpose=JOIN_PURPOSE)
        except Unauthenticated:
            await websocket.close(CloseCode.BAD_TOKEN, "join token missing, bad or expired")
            return
        if claims.get("session_id") != session_id:
            await websocket.close(CloseCode.WRONG_SESSION, "token is for another session")
            return
        participant_id = int(claims["participant_id"])
        ticket = await asyncio.to_thread(persist.load_ticket, self.db, session_id, participant_id)
        if ticket is None:
            await websocket.close(CloseCode.WRONG_SESSION, "not a participant of this session")
            return
        if not ticket["joinable"]:
            await websocket.close(CloseCode.NOT_JOINABLE, f"session is {ticket['state']}")
            return
        await self._ensure_listener(session_id)
        try:
            transition = await update_room(
                self.store, session_id,
                lambda room: rooms.join(room, participant_id, ticket["role"], now=now(), name=ticket["name"]),
                initial=lambda: rooms.new_room(session_id, ticket["state"], ticket["roster"]))
        except ProtocolError as exc:
            await websocket.send_text(dump(error_message(exc)))
            code = CloseCode.WRONG_SESSION if exc.code == "forbidden" else CloseCode.NOT_JOINABLE
            await websocket.close(code, exc.code)
            return
        me = Connection(websocket, participant_id, transition.room.participant(participant_id).connection)
        self.sockets.setdefault(session_id, {})[participant_id] = me
        try:
            await self._handle(session_id, transition, ticket)
            await self._receive_loop(session_id, me, ticket)
        finally:
            await self._drop(session_id, me, ticket)

    async def _receive_loop(self, session_id: int, me: Connection, ticket: dict) -> None:
        while True:
            try:
                message = await me.websocket.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text") if message.get("text") is not None else message.get("bytes", b"")
            try:
                me.bucket.take()
                parsed = parse_client_message(raw)
                transition = await update_room(
                    self.store, session_id,
                    lambda room: rooms.apply(room, me.participant_id, parsed, now=now(), connection=me.connection),
                    initial=lambda: rooms.new_room(session_id, ticket["state"], ticket["roster"]))
            except ProtocolError as exc:
                me.invalid += 1
                await self._send(me, dump(error_message(exc)))
                if exc.code == "rate_limited" and me.bucket.should_close():
                    await self._close(me, CloseCode.RATE_LIMITED, "rate limited")
                    return
                if me.invalid >= MAX_INVALID_IN_A_ROW:
                    await self._close(me, CloseCode.PROTOCOL, "too many invalid messages")
                    return
                continue
            me.invalid = 0
            await self._handle(session_id, transition, ticket)

    async def _drop(self, session_id: int, me: Connection, ticket: dict) -> None:
        local = self.sockets.get(session_id, {})
        if local.get(me.participant_id) is me:
            del local[me.participant_id]
            hub = self.hubs.get(session_id)
            if hub is not None and str(me.participant_id) in hub.participants:
                await hub.remove_participant(str(me.participant_id))
        try:
            transition = await update_room(
                self.store, session_id,
                lambda room: rooms.disconnect(room, me.participant_id, now=now(), connection=me.connection),
                initial=lambda: rooms.new_room(session_id, ticket["state"], ticket["roster"]))
            await self._handle(session_id, transition, ticket)
        except Exception:  # the socket is gone either way; the room heals on the next join
            log.exception("disconnect of participant %s in session %s", me.participant_id, session_id)
        if not local:
            # While recording, the hub stays: whoever rejoins continues the same recording.
            await self._stop_session(session_id, keep_hub=session_id in self.recordings)

    # --- what a step produces ----------------------------------------------------------------

    async def _handle(self, session_id: int, transition, ticket: dict) -> None:
        for send in transition.sends:
            await self.bus.publish(session_channel(session_id), send.to_envelope())
        if transition.events:
            events = [event.model_dump(mode="json") for event in transition.events]
            await asyncio.to_thread(persist.record_events, self.db, session_id, events, self.policy)
            await self._media_housekeeping(session_id, events, ticket)
        for signal in transition.media:
            await self._media(session_id, signal, ticket)

    async def _media_housekeeping(self, session_id: int, events: list[dict], ticket: dict) -> None:
        hub = self.hubs.get(session_id)
        for event in events:
            kind = event["kind"]
            if kind in ("participant_left", "participant_denied") and hub is not None:
                if str(event["participant_id"]) in hub.participants:
                    await hub.remove_participant(str(event["participant_id"]))
            elif kind == "media_state_changed" and session_id in self.recordings:
                live = self.recordings[session_id]
                live.set_muted(str(event["participant_id"]), "audio", not event["audio"])
                live.set_muted(str(event["participant_id"]), "video", not event["video"])
            elif kind == "session_state_changed" and event["new"] == "live" and ticket.get("recorded", True):
                await self._start_recording(session_id, ticket)
            elif kind == "session_state_changed" and event["new"] in ENDING:
                await self._stop_recording(session_id)
                await self._stop_session(session_id, keep_hub=False)

    # --- recording ---------------------------------------------------------------------------

    def storage(self):
        """Where recordings go (built once, on first use)."""
        if self._storage is None:
            self._storage = storage_from_settings(self.settings)
        return self._storage

    async def _start_recording(self, session_id: int, ticket: dict) -> None:
        if session_id in self.recordings:
            return
        hub = self._hub(session_id, ticket)
        try:
            self.recordings[session_id] = await LiveRecording.start(
                db=self.db, hub=hub, session_id=session_id, storage=self.storage(),
                segment_seconds=self.settings.recording_segment_seconds, cluster_ms=self.settings.recording_cluster_ms)
        except Exception:  # the call goes on; the failure is logged and the recording row says so
            log.exception("recording of session %s could not start", session_id)

    async def _stop_recording(self, session_id: int) -> None:
        live = self.recordings.pop(session_id, None)
        if live is not None:
            await live.stop()

    async def _media(self, session_id: int, signal, ticket: dict) -> None:
        message = signal.message
        pid = str(signal.participant_id)
        hub = self._hub(session_id, ticket)
        try:
            if message.type == "offer":
                self.numbers[(session_id, signal.participant_id)] = renegotiation.numbers_of(message.sdp)
                answer = await hub.add_participant(pid, message.sdp)
                await self._deliver_local(session_id, signal.participant_id, json.dumps({"type": "answer", "sdp": answer}))
            elif message.type == "answer":
                await hub.accept_answer(pid, message.sdp)
            # Candidates: the hub takes complete offers (gathering finished), see signaling/README.md.
        except Exception as exc:  # a bad SDP must not take the session down
            log.warning("media signal from %s in session %s refused: %s", pid, session_id, exc)
            await self._deliver_local(session_id, signal.participant_id,
                                      json.dumps({"type": "error", "code": "invalid", "detail": "media negotiation failed"}))

    def _hub(self, session_id: int, ticket: dict) -> MediaHub:
        hub = self.hubs.get(session_id)
        if hub is None:
            async def on_offer(participant_id: str, sdp: str) -> None:
                numbers = self.numbers.get((session_id, int(participant_id)))
                if numbers is not None:
                    sdp = renegotiation.align(sdp, numbers)
                await self._deliver_local(session_id, int(participant_id), json.dumps({"type": "offer", "sdp": sdp}))

            hub = MediaHub(ice_servers=self.settings.ice_servers,
                           host_addresses=self.settings.media_host_addresses or None, on_offer=on_offer)
            self.hubs[session_id] = hub
        return hub

    # --- fan-out -----------------------------------------------------------------------------

    async def _ensure_listener(self, session_id: int) -> None:
        # Everyone waits until the subscription is live: a participant connecting while another
        # one's listener is still subscribing would otherwise publish into the void.
        if session_id in self.listeners:
            await self.listener_ready[session_id].wait()
            return
        ready = asyncio.Event()
        self.listener_ready[session_id] = ready

        async def deliver(envelope: dict) -> None:
            send = Send.from_envelope(envelope)
            text = dump(send.message)
            for conn in list(self.sockets.get(session_id, {}).values()):
                if send.reaches(conn.participant_id, conn.connection):
                    await self._send(conn, text)
                    if send.message.type == "bye":
                        code = CloseCode.REPLACED if send.message.reason == "replaced" else CloseCode.NORMAL
                        await self._close(conn, code, send.message.reason or "bye")

        self.listeners[session_id] = asyncio.create_task(listen(self.bus, session_channel(session_id), deliver,
                                                                ready=ready))
        await ready.wait()

    async def _deliver_local(self, session_id: int, participant_id: int, text: str) -> None:
        conn = self.sockets.get(session_id, {}).get(participant_id)
        if conn is not None:
            await self._send(conn, text)

    async def _send(self, conn: Connection, text: str) -> None:
        if conn.websocket.application_state is WebSocketState.CONNECTED:
            try:
                await conn.websocket.send_text(text)
            except (RuntimeError, WebSocketDisconnect):
                pass

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        if conn.websocket.application_state is WebSocketState.CONNECTED:
            try:
                await conn.websocket.close(code, reason[:120])
            except RuntimeError:
                pass

    async def _stop_session(self, session_id: int, *, keep_hub: bool) -> None:
        if self.sockets.get(session_id):
            return
        self.sockets.pop(session_id, None)
        listener = self.listeners.pop(session_id, None)
        self.listener_ready.pop(session_id, None)
        if listener is not None:
            listener.cancel()
        if not keep_hub:
            hub = self.hubs.pop(session_id, None)
            if hub is not None:
                await hub.close()
            for key in [k for k in self.numbers if k[0] == session_id]:
                del self.numbers[key]

    async def close(self) -> None:
        """Finalise recordings, close every hub, listener and the bus (server shutdown)."""
        for session_id in list(self.recordings):
            await self._stop_recording(session_id)
        for session_id in list(self.hubs):
            hub = self.hubs.pop(session_id)
            await hub.close()
        for task in self.listeners.values():
            task.cancel()
        self.listeners.clear()
        self.listener_ready.clear()
        await self.bus.close()
        await self.store.close()

