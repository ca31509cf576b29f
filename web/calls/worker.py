"""A media worker (`vreception media-worker`): holds the hubs and recorders of the sessions placed on it.

It announces itself in Redis with a heartbeat, takes commands from the fronts on its own bus channel, answers the
participants on their session's channel, and adopts the sessions of any worker whose heartbeat expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from recordings.call import CallMedia
from signaling.bus import listen, session_channel
from signaling.events import MediaSignal
from signaling.messages import Admitted, Answer, Candidate, Offer, ServerMessage, dump
from signaling.redis_bus import RedisBus, RedisStateStore
from signaling.rooms import Room
from signaling.state import room_key
from vreception.cluster.keys import ClusterKeys
from vreception.cluster.placement import Placement
from vreception.cluster.registry import Heartbeat, WorkerInfo, withdraw
from vreception.cluster.relay import command, direct, worker_channel
from web.calls.remote import redis_client

if TYPE_CHECKING:
    from vreception.config import Settings
    from vreception.db import Database

log = logging.getLogger("vreception.media_worker")
# Room states after which nothing of a session's media is kept.
OVER = frozenset({"ended", "no_show", "cancelled"})
SIGNALS: dict[str, type[Offer | Answer | Candidate]] = {"offer": Offer, "answer": Answer, "candidate": Candidate}
RESUBSCRIBE_S = 0.5


def default_worker_id() -> str:
    """This process's id when none is configured: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


class MediaWorker:
    """Runs the media of the sessions placed on it; `await run(stop)` until STOP is set."""

    def __init__(self, *, db: Database, settings: Settings) -> None:
        if not settings.redis_url:
            raise ValueError("a media worker needs VRECEPTION_REDIS_URL")
        self.settings = settings
        self.id = settings.media_worker_id or default_worker_id()
        self.address = (settings.media_host_addresses or [settings.host])[0]
        keys = ClusterKeys(settings.redis_prefix)
        self.bus = RedisBus.from_url(settings.redis_url, prefix=settings.redis_prefix)
        self.store = RedisStateStore.from_url(settings.redis_url, prefix=settings.redis_prefix)
        self.client = redis_client(settings.redis_url)
        self.keys = keys
        self.placement = Placement(self.client, keys)
        self.media = CallMedia(db=db, settings=settings, deliver=self.deliver)
        self.heartbeat = Heartbeat(self.client, keys, self.describe, interval_ms=settings.media_worker_heartbeat_ms,
                                   ttl_ms=settings.media_worker_ttl_ms)
        # One queue per session: its commands apply in order, while other sessions go on meanwhile.
        self._queues: dict[int, asyncio.Queue[dict[str, Any]]] = {}
        self._runners: dict[int, asyncio.Task[None]] = {}
        self.commands = 0

    def describe(self) -> WorkerInfo:
        """This worker's heartbeat: id, address, load, capacity."""
        sessions, participants = self.media.load()
        return WorkerInfo(id=self.id, address=self.address, sessions=sessions, participants=participants,
                          capacity=self.settings.media_worker_capacity)

    async def run(self, stop: asyncio.Event) -> None:
        """Announce, take commands and watch the other workers until STOP; then let go cleanly."""
        # The storage client is built before the first call, off the event loop: an S3 client takes seconds to
        # build on a busy machine, and a loop blocked that long misses heartbeats (the worker is taken for lost).
        await asyncio.to_thread(lambda: self.media.storage)
        ready = asyncio.Event()
        listener = asyncio.create_task(self._listen(ready))
        await asyncio.wait_for(ready.wait(), 10)
        await self.heartbeat.beat()
        beating = asyncio.create_task(self.heartbeat.run(on_beat=self.watch))
        # A process with this id died holding sessions and was restarted before another worker took them over:
        # continue them here, where its journal is (announced first, so nobody else adopts them meanwhile).
        for member in await self.client.smembers(self.keys.sessions(self.id)):
            session_id = int(member)
            if await self.placement.placed_on(session_id) == self.id:
                await self._take(command("adopt", session_id, lost=self.id))
        log.info("media worker %s at %s ready", self.id, self.address)
        print(f"media worker {self.id} ready at {self.address}", flush=True)
        try:
            await stop.wait()
        finally:
            listener.cancel()
            for runner in self._runners.values():
                runner.cancel()
            await asyncio.gather(listener, *self._runners.values(), return_exceptions=True)
            # Segments are closed and registered before the announcement goes: whoever adopts the sessions then
            # continues after them.
            for live in list(self.media.recordings.values()):
                with contextlib.suppress(Exception):
                    await live.stop(finalise=False)
            self.media.recordings.clear()
            await self.media.close()
            beating.cancel()
            await asyncio.gather(beating, return_exceptions=True)
            with contextlib.suppress(Exception):
                await withdraw(self.client, self.keys, self.id)
            for closing in (self.bus.close(), self.store.close(), self.client.aclose()):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closing, 5)

    async def _listen(self, ready: asyncio.Event) -> None:
        """Take commands from this worker's channel; a subscription Redis dropped (a restart) is made again."""
        while True:
            try:
                await listen(self.bus, worker_channel(self.id), self._take, ready=ready)
                return
            except (TimeoutError, OSError, RedisError) as exc:
                log.warning("commands: Redis does not answer (%s); subscribing again", exc)
                await asyncio.sleep(RESUBSCRIBE_S)

    async def watch(self) -> None:
        """After each heartbeat: let go of what another worker adopted while this one was silent; re-place the
        sessions of lost workers and tell their adopters."""
        if self.heartbeat.lapsed:
            await self.let_go_of_adopted()
        # After a break in the heartbeats (Redis restarted, or this process stalled) every announcement may have
        # lapsed: a TTL of steady beats gives the live workers time to announce themselves again first.
        if self.heartbeat.steady_ms < self.heartbeat.ttl_ms:
            return
        for moved in await self.placement.adopt_orphans():
            log.warning("session %s: worker %s lost, placed on %s", moved.session_id, moved.lost, moved.worker)
            await self.bus.publish(worker_channel(moved.worker), command("adopt", moved.session_id, lost=moved.lost))

    async def let_go_of_adopted(self) -> None:
        """This worker was silent past its TTL: every session it holds that now lives on another worker goes at once,
        its recorder stopped without registering more (the adopter continues the recording)."""
        for session_id in sorted(set(self.media.hubs) | set(self.media.recordings)):
            holder = await self.placement.placed_on(session_id)
            if holder is None or holder == self.id:
                continue
            log.error("session %s: this worker was taken for lost and %s holds the session now: letting go",
                      session_id, holder)
            live = self.media.recordings.pop(session_id, None)
            if live is not None:
                await live.abandon()
            await self.media.release(session_id)

    async def deliver(self, session_id: int, participant_id: int, message: ServerMessage) -> None:
        """Send MESSAGE to PARTICIPANT_ID through whichever front holds their socket."""
        await self.bus.publish(session_channel(session_id), direct(participant_id, dump(message)))

    async def _take(self, envelope: dict[str, Any]) -> None:
        session_id = int(envelope["session_id"])
        queue = self._queues.get(session_id)
        if queue is None:
            queue = self._queues[session_id] = asyncio.Queue()
            self._runners[session_id] = asyncio.create_task(self._drain(session_id, queue))
        queue.put_nowait(envelope)

    async def _drain(self, session_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            envelope = await queue.get()
            try:
                await self.apply(envelope)
            except Exception:  # one bad command must not stop the session's others
                log.exception("session %s: command %s failed", session_id, envelope.get("op"))
            self.commands += 1
            if queue.empty() and session_id not in self.media.hubs and not self.media.recording(session_id):
                # nothing of the session is held here any more (no await since the check: no command slipped in)
                del self._queues[session_id], self._runners[session_id]
                return

    async def apply(self, envelope: dict[str, Any]) -> None:
        """Carry out one command of a front (or of the worker that noticed a loss)."""
        op, session_id = envelope["op"], int(envelope["session_id"])
        participant_id = int(envelope.get("participant_id") or 0)
        if op == "signal":
            body = envelope["message"]
            message = SIGNALS[body["type"]].model_validate(body)
            await self.media.signal(session_id, MediaSignal(participant_id, message))
        elif op == "leave":
            await self.media.leave(session_id, participant_id)
        elif op == "share_screen":
            await self.media.share_screen(session_id, participant_id)
        elif op == "stop_screen":
            await self.media.stop_screen(session_id, participant_id)
        elif op == "media_state":
            self.media.set_media_state(session_id, participant_id, audio=envelope["audio"],
                                       video=envelope["video"])
        elif op == "record":
            await self.media.record(session_id)
        elif op == "release":
            # Another front may still have participants here: let go only of a hub nobody holds media in.
            if not self.media.holds(session_id) and not self.media.recording(session_id):
                await self.media.release(session_id)
                await self.placement.release(session_id, self.id)
        elif op == "end":
            await self.media.end(session_id)
            await self.media.release(session_id)
            await self.placement.release(session_id, self.id)
        elif op == "adopt":
            await self.adopt(session_id, lost=envelope["lost"])
        else:
            log.warning("unknown command %r", op)

    async def adopt(self, session_id: int, *, lost: str) -> None:
        """Take over SESSION_ID from the lost worker: continue its recording, then have every admitted, connected
        participant negotiate afresh (an `admitted` makes their page offer again; it never goes back to the lobby)."""
        stored = await self.store.get(room_key(session_id))
        room = Room.from_json(stored.value) if stored.value is not None else None
        # Who was in the call since when: one whose first segment was open on the lost disk is missing from then.
        present = {p.id: p.last_joined_at.timestamp() for p in room.participants
                   if p.admitted and p.connected and not p.refused and p.last_joined_at is not None} if room else {}
        recording_id = await self.media.resume(session_id, lost=lost, worker=self.id, present=present)
        if room is None or room.state in OVER:
            # The call ended while nobody held it (its `end` went to the lost worker): finalise what was recorded.
            await self.apply(command("end", session_id))
            return
        again = [p.id for p in room.participants if p.admitted and p.connected and not p.refused]
        for participant_id in again:
            await self.deliver(session_id, participant_id, Admitted())
        log.warning("session %s adopted from %s: recording %s continues, %d participants renegotiate",
                    session_id, lost, recording_id, len(again))


async def serve(*, db: Database, settings: Settings) -> int:
    """Run a media worker until SIGTERM or SIGINT."""
    worker = MediaWorker(db=db, settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await worker.run(stop)
    return 0
