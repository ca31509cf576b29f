"""One process's share of the calls: its sockets, the shared room state and the bus; media and records delegated."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from fastapi import WebSocket
from redis.exceptions import RedisError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from recordings.call import CallMedia
from scheduling.policy import policy_from
from scheduling.states import ENDING
from signaling import (
    Bus,
    CloseCode,
    MemoryBus,
    MemoryStateStore,
    ProtocolError,
    Send,
    ServerMessage,
    TokenBucket,
    Transition,
    dump,
    error_message,
    listen,
    parse_client_message,
    rooms,
    session_channel,
    update_room,
)
from signaling.events import (
    Event,
    MediaStateChanged,
    ParticipantDenied,
    ParticipantLeft,
    ScreenShareEnded,
    ScreenShareStarted,
    SessionStateChanged,
)
from signaling.messages import Agenda, Bye, ClientMessage, Error, State
from signaling.redact import for_gallery
from signaling.redis_bus import RedisBus, RedisStateStore
from signaling.roles import ROLES, can
from signaling.state import StateStore
from vreception.auth import tokens
from vreception.clock import now
from vreception.errors import Unauthenticated
from vreception.i18n import DEFAULT_LANGUAGE, translate
from vreception.models.scheduling import SessionState
from web.calls import persist
from web.calls.persist import Ticket
from web.calls.remote import RemoteMedia

log = logging.getLogger("vreception.calls")
JOIN_PURPOSE = "join"
MAX_INVALID_IN_A_ROW = 10


@dataclass
class Connection:
    """A participant's socket in this process."""

    websocket: WebSocket
    participant_id: int
    connection: int
    bucket: TokenBucket = field(default_factory=TokenBucket)
    invalid: int = 0
    # A public gallery viewer (旁听): every `state` it receives names roles, never people.
    gallery: bool = False


# How long a join waits for the shared call state, and what a Redis that is down or gone raises.
SHARED_STATE_WAIT_S = 5
SHARED_STATE_DOWN: tuple[type[BaseException], ...] = (OSError, asyncio.TimeoutError, RedisError)


# What a gallery viewer sees instead of each participant's name: their role (the public knows roles, not people).
GALLERY_LABELS: dict[str, str] = {role: translate(f"pages.participant.{role}", DEFAULT_LANGUAGE) for role in ROLES}
GALLERY_LABELS["observer"] = translate("call.gallery.viewer", DEFAULT_LANGUAGE)


def _new_room(session_id: int, ticket: Ticket) -> rooms.Room:
    """The room as the database knows it when no shared state exists yet."""
    return rooms.new_room(session_id, ticket.state, ticket.roster, hearing=ticket.hearing,
                          agenda_step=ticket.agenda_step)


class SharedStateUnavailable(RuntimeError):
    """The shared call state (Redis) does not answer at start: the server refuses to run half-connected."""


class CallService:
    """Serves /ws/sessions/{id}: authentication, the signaling steps and fan-out; media and records are delegated."""

    def __init__(self, *, db, secret: str, settings):
        self.db, self.secret, self.settings = db, secret, settings
        self.bus: Bus
        self.store: StateStore
        self._redis: tuple[RedisBus, RedisStateStore] | tuple[()] = ()
        if settings.redis_url:
            bus = RedisBus.from_url(settings.redis_url, prefix=settings.redis_prefix)
            store = RedisStateStore.from_url(settings.redis_url, prefix=settings.redis_prefix)
            self.bus, self.store, self._redis = bus, store, (bus, store)
        else:
            self.bus, self.store = MemoryBus(), MemoryStateStore()
        self.sockets: dict[int, dict[int, Connection]] = {}
        self.listeners: dict[int, asyncio.Task] = {}
        self.listener_ready: dict[int, asyncio.Event] = {}
        # The media lives in this process (embedded, the default) or on the media workers (relayed over Redis).
        self.media: CallMedia | RemoteMedia
        if settings.media_placement == "workers":
            if not settings.redis_url:
                raise SharedStateUnavailable("VRECEPTION_MEDIA_PLACEMENT=workers needs VRECEPTION_REDIS_URL")
            self.media = RemoteMedia(settings=settings, bus=self.bus, deliver=self._deliver_local)
        else:
            self.media = CallMedia(db=db, settings=settings, deliver=self._deliver_local)
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
        ticket = await asyncio.to_thread(persist.load_ticket, session_id, participant_id, db=self.db)
        if ticket is None:
            await websocket.close(CloseCode.WRONG_SESSION, "not a participant of this session")
            return
        if not ticket.joinable:
            await websocket.close(CloseCode.NOT_JOINABLE, f"session is {ticket.state}")
            return
        try:
            await asyncio.wait_for(self._ensure_listener(session_id), SHARED_STATE_WAIT_S)
            transition = await update_room(
                self.store, session_id,
                lambda room: rooms.join(room, participant_id, ticket.role, now=now(), name=ticket.name,
                                        auto_admit=ticket.gallery),
                initial=lambda: _new_room(session_id, ticket))
            await self.media.open(session_id)
        except SHARED_STATE_DOWN as exc:
            # A Redis that does not answer: the page gets a coded close at once and retries, instead of a hang.
            log.warning("session %s: shared call state unavailable: %s", session_id, exc)
            await websocket.close(CloseCode.UNAVAILABLE, "shared call state unavailable")
            return
        except ProtocolError as exc:
            await websocket.send_text(dump(error_message(exc)))
            code = CloseCode.WRONG_SESSION if exc.code == "forbidden" else CloseCode.NOT_JOINABLE
            await websocket.close(code, exc.code)
            return
        seat = transition.room.participant(participant_id)
        assert seat is not None  # join() seated them
        me = Connection(websocket, participant_id, seat.connection, gallery=ticket.gallery)
        local = self.sockets.setdefault(session_id, {})
        replaced, local[participant_id] = local.get(participant_id), me
        try:
            if replaced is not None:
                await self._replace(session_id, replaced)
            await self._handle(session_id, transition, ticket)
            await self._receive_loop(session_id, me, ticket)
        finally:
            await self._drop(session_id, me, ticket)

    async def _receive_loop(self, session_id: int, me: Connection, ticket: Ticket) -> None:
        while True:
            try:
                message = await me.websocket.receive()
            except WebSocketDisconnect:
                return
            if message["type"] == "websocket.disconnect":
                return
            text: str | None = message.get("text")
            raw = text if text is not None else message.get("bytes", b"")
            try:
                me.bucket.take()
                parsed = parse_client_message(raw)
                refused = await self._agenda_refusal(session_id, parsed, ticket)
                if refused is not None:
                    await self._send(me, dump(refused))
                    continue

                def step(room: rooms.Room, parsed: ClientMessage = parsed) -> Transition:
                    return rooms.apply(room, me.participant_id, parsed, now=now(), connection=me.connection)

                transition = await update_room(
                    self.store, session_id, step,
                    initial=lambda: _new_room(session_id, ticket))
            except ProtocolError as exc:
                await self._send(me, dump(error_message(exc)))
                if exc.code == "rate_limited":
                    # A flood is not malformed input: it closes with its own code once the errors are ignored.
                    if me.bucket.should_close():
                        await self._close(me, CloseCode.RATE_LIMITED, "rate limited")
                        return
                    continue
                me.invalid += 1
                if me.invalid >= MAX_INVALID_IN_A_ROW:
                    await self._close(me, CloseCode.PROTOCOL, "too many invalid messages")
                    return
                continue
            me.invalid = 0
            await self._handle(session_id, transition, ticket)

    async def _replace(self, session_id: int, old: Connection) -> None:
        """Close this process's older socket of a participant who connected again: `bye` replaced, then 4409."""
        # The room addresses that bye to the older connection, which is no longer in this process's table.
        await self.media.leave(session_id, old.participant_id)
        await self._send(old, dump(Bye(reason="replaced")))
        await self._close(old, CloseCode.REPLACED, "replaced")

    async def _agenda_refusal(self, session_id: int, parsed: ClientMessage, ticket: Ticket) -> Error | None:
        """A hearing goes past its opening only with a complete panel: the pure reducer cannot ask the database."""
        if not (isinstance(parsed, Agenda) and ticket.hearing and can(ticket.role, "moderate")):
            return None
        why = await asyncio.to_thread(persist.agenda_refusal, session_id, parsed.step, self.policy.hearing_panel_sizes,
                                      db=self.db)
        return Error(code="panel_incomplete", detail=why) if why is not None else None

    async def _drop(self, session_id: int, me: Connection, ticket: Ticket) -> None:
        local = self.sockets.get(session_id, {})
        if local.get(me.participant_id) is me:
            del local[me.participant_id]
            await self.media.leave(session_id, me.participant_id)
        try:
            transition = await update_room(
                self.store, session_id,
                lambda room: rooms.disconnect(room, me.participant_id, now=now(), connection=me.connection),
                initial=lambda: _new_room(session_id, ticket))
            await self._handle(session_id, transition, ticket)
        except Exception:  # the socket is gone either way; the room heals on the next join
            log.exception("disconnect of participant %s in session %s", me.participant_id, session_id)
        if not local:
            await self._stop_session(session_id)

    # --- what a step produces ----------------------------------------------------------------

    async def _handle(self, session_id: int, transition: Transition, ticket: Ticket) -> None:
        # Shielded: a socket that closes while its step's frames go out (the chair's page closed right after a click)
        # cancels its handler, and the step everyone was shown must still be stored and reach the media side.
        await asyncio.shield(self._carry_out(session_id, transition, ticket))

    async def _carry_out(self, session_id: int, transition: Transition, ticket: Ticket) -> None:
        # Media is cut before anyone is told: whoever a step sends out of the call (back to the lobby for a private
        # deliberation) must not hear or be recorded for the time the frames and the events' store take.
        for event in transition.events:
            if isinstance(event, ParticipantLeft | ParticipantDenied):
                await self.media.leave(session_id, event.participant_id)
        for send in transition.sends:
            await self.bus.publish(session_channel(session_id), send.to_envelope())
        if transition.events:
            await asyncio.to_thread(persist.record_events, session_id, transition.events, self.policy, db=self.db)
            for event in transition.events:
                await self._route(session_id, event, ticket)
        for signal in transition.media:
            await self.media.signal(session_id, signal)

    async def _route(self, session_id: int, event: Event, ticket: Ticket) -> None:
        """Hand what a stored event means for the media to the media side (leaving is cut before, in _carry_out)."""
        if isinstance(event, ScreenShareStarted):
            await self.media.share_screen(session_id, event.by)
        elif isinstance(event, ScreenShareEnded):
            await self.media.stop_screen(session_id, event.participant_id)
        elif isinstance(event, MediaStateChanged):
            self.media.set_media_state(session_id, event.participant_id, audio=event.audio, video=event.video)
        elif isinstance(event, SessionStateChanged) and event.new == "live" and ticket.recorded:
            await self.media.record(session_id)
        elif isinstance(event, SessionStateChanged) and SessionState(event.new) in ENDING:
            await self.media.end(session_id)
            await self._stop_session(session_id)

    def storage(self):
        """Where recordings go (the media side's storage)."""
        return self.media.storage

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
            if "direct" in envelope:  # a media worker's answer to one participant, serialised there
                for conn in list(self.sockets.get(session_id, {}).values()):
                    if conn.participant_id in envelope["to"]:
                        await self._send(conn, envelope["direct"])
                return
            send = Send.from_envelope(envelope)
            text = dump(send.message)
            gallery_text: str | None = None
            for conn in list(self.sockets.get(session_id, {}).values()):
                if send.reaches(conn.participant_id, conn.connection):
                    if conn.gallery and isinstance(send.message, State):
                        gallery_text = gallery_text or dump(for_gallery(send.message, GALLERY_LABELS))
                        await self._send(conn, gallery_text)
                        continue
                    await self._send(conn, text)
                    if send.message.type == "bye":
                        code = CloseCode.REPLACED if send.message.reason == "replaced" else CloseCode.NORMAL
                        await self._close(conn, code, send.message.reason or "bye")

        self.listeners[session_id] = asyncio.create_task(listen(self.bus, session_channel(session_id), deliver,
                                                                ready=ready))
        await ready.wait()

    async def _deliver_local(self, session_id: int, participant_id: int, message: ServerMessage) -> None:
        conn = self.sockets.get(session_id, {}).get(participant_id)
        if conn is not None:
            await self._send(conn, dump(message))

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

    async def _stop_session(self, session_id: int) -> None:
        if self.sockets.get(session_id):
            return
        self.sockets.pop(session_id, None)
        listener = self.listeners.pop(session_id, None)
        self.listener_ready.pop(session_id, None)
        if listener is not None:
            listener.cancel()
        # While recording, the hub stays: whoever rejoins continues the same recording.
        await self.media.release(session_id)

    async def check_shared_state(self) -> None:
        """Raise SharedStateUnavailable unless the shared call state (Redis, when configured) answers."""
        try:
            for client in self._redis:
                await asyncio.wait_for(client.ping(), SHARED_STATE_WAIT_S)
        except SHARED_STATE_DOWN as exc:
            raise SharedStateUnavailable(f"Redis at {self.settings.redis_url} does not answer ({exc!r}); "
                                         "start it or unset VRECEPTION_REDIS_URL") from exc

    async def close(self) -> None:
        """Finalise recordings, close every hub, listener and the bus (server shutdown)."""
        await self.media.close()
        for task in self.listeners.values():
            task.cancel()
        self.listeners.clear()
        self.listener_ready.clear()
        for closing in (self.bus.close(), self.store.close()):
            # A Redis that went away must not hold up the shutdown.
            with contextlib.suppress(*SHARED_STATE_DOWN):
                await asyncio.wait_for(closing, SHARED_STATE_WAIT_S)

