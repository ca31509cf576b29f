"""The recorder: each participant's encoded media, from the hub's packet forwarder to segment files, off the loop."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recordings.forwarding import Source
from recordings.journal import JOURNAL_KEY, Journal
from recordings.segment import CAMERA, Capture, SegmentFile, codec_name, container_for, segment_key, vp8_dimensions
from recordings.storage import Storage, sha256_file

if TYPE_CHECKING:
    from recordings.sfu import MediaHub

logger = logging.getLogger(__name__)

# A silence on a track longer than this is a gap in the manifest (Opus DTX still sends every 400 ms).
GAP_SECONDS = 1.0
# A track whose RTP clock and arrival disagree by more than this has restarted (rejoin, new sender).
RESYNC_SECONDS = 1.0
# Audio kept while a segment waits for its first video key frame.
AUDIO_BUFFER = 100  # 2 s of 20 ms Opus frames
# A new file waits this long after its key frame for the audio captured with it.
OPEN_WAIT = 0.3
KEYFRAME_RETRY = 0.5
TICK = 0.25
# Frames waiting for the writer thread; beyond this the call goes on and the loss is a gap.
QUEUE_FRAMES = 4096
# Frames go to the writer thread with each TICK, or at once when this many wait: every hand-off wakes the thread (a
# futex call and a switch of the GIL). One per frame was a fifth of the event loop's work in a recorded call; one
# every 50 ms still cost 7 % of the server's CPU at 20 recorded calls on one core (bench, paired runs). A killed
# process loses at most a tick of frames more than the open cluster.
HAND_OVER_FRAMES = 256
# After this many writer failures in a row the recorder gives up (disk full, broken storage).
MAX_FAILURES = 5


@dataclass
class ClosedSegment:
    """A finished segment file and what the manifest says about it."""

    index: int
    participant: str  # the hub's participant id
    key: str
    path: Path
    container: str
    codecs: dict[str, str]
    started_at: float
    ended_at: float
    packets: dict[str, int]
    gap_before: dict[str, Any] | None = None
    gaps: list[dict[str, Any]] = field(default_factory=list)
    clean: bool = True  # the trailer was written (False: recovered after a crash)
    sha256: str = ""
    bytes: int = 0
    capture: Capture = CAMERA  # camera and microphone, or a shared screen (a file of its own)

    @property
    def duration_s(self) -> float:
        """Seconds of media in the file."""
        return round(max(0.0, self.ended_at - self.started_at), 3)


@dataclass
class _Track:
    """Maps one track's 0-based RTP timestamps to wall-clock time."""

    kind: str
    anchor: float | None = None  # wall-clock time of RTP timestamp 0
    last_rtp: float = 0.0
    last_at: float = 0.0

    def place(self, rtp: float, arrival: float) -> tuple[float, bool]:
        """Wall-clock time of a frame, and whether the track restarted before it."""
        restarted = False
        late = arrival - (self.anchor + rtp) if self.anchor is not None else 0.0
        # Late frames whose timestamps carry on from the last ones were held up (a stalled process, a full socket
        # buffer), not sent anew: they keep their media time. A new sender's timestamps start anywhere else.
        carried_on = 0.0 <= rtp - self.last_rtp < RESYNC_SECONDS
        if (
            self.anchor is None
            or rtp < self.last_rtp - RESYNC_SECONDS
            or late < -RESYNC_SECONDS
            or (late > RESYNC_SECONDS and not carried_on)
        ):
            restarted = self.anchor is not None
            self.anchor = arrival - rtp
        else:
            # the least-delayed frame so far gives the best anchor: jitter only ever adds delay
            self.anchor = min(self.anchor, arrival - rtp)
        self.last_rtp = rtp
        return self.anchor + rtp, restarted


@dataclass
class _Participant:
    """The writer thread's state for one participant's capture (camera and microphone, or a shared screen)."""

    pid: str
    capture: Capture = CAMERA
    tracks: dict[str, _Track] = field(default_factory=dict)
    expected: set[str] = field(default_factory=set)
    segment: SegmentFile | None = None
    meta: ClosedSegment | None = None
    pending_gap: dict[str, Any] | None = None
    # (kind, codec, at, data, keyframe) before a file opens
    pending: list[tuple[str, str, float, bytes, bool]] = field(default_factory=list)
    asked_at: float = 0.0
    muted: dict[str, bool] = field(default_factory=dict)


class Recorder:
    """Records every participant of a hub into segments under PREFIX; call start() on the loop, then stop()."""

    def __init__(
        self,
        hub: MediaHub,
        *,
        storage: Storage,
        prefix: str,
        segment_seconds: float = 60.0,
        cluster_ms: int = 500,
        on_segment: Callable[[ClosedSegment], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        queue_frames: int = QUEUE_FRAMES,
    ) -> None:
        self.hub = hub
        self.storage = storage
        self.prefix = prefix.rstrip("/")
        self.segment_seconds = segment_seconds
        self.cluster_ms = cluster_ms
        self.on_segment = on_segment
        self.on_error = on_error
        self.segments: list[ClosedSegment] = []  # stored, in the order they were closed
        self.gaps: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.dropped = 0
        self.written = 0  # frames muxed into segments (the writer thread counts; benchmarks read it)
        self.started_at: float | None = None
        self.queue_frames = queue_frames
        # (what, *arguments), or ("batch", [items]); bounded in frames by _posted - _taken, not by the queue
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self._batch: list[tuple[Any, ...]] = []  # items not yet handed to the writer (on the loop)
        self._posted = 0  # frames handed on (written by the loop only)
        self._taken = 0  # frames the writer took (written by the writer thread only)
        self._gave_up = False
        self._participants: dict[tuple[str, Capture], _Participant] = {}
        self._next_index = 0
        self._failures = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._uploader = ThreadPoolExecutor(1, thread_name_prefix="vreception-recording-upload")
        self._remove_sink: Callable[[], None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._kinds: dict[tuple[str, Capture], tuple[frozenset[str], float]] = {}
        self._lost: dict[tuple[str, Capture, str], list[float]] = {}
        self._open_segments: dict[str, ClosedSegment] = {}
        self.journal = Journal(storage.live_path(f"{self.prefix}/{JOURNAL_KEY}"))

    # on the event loop

    def start(self) -> None:
        """Attach to the hub and start the writer thread (call from the event loop)."""
        self._loop = asyncio.get_running_loop()
        self.started_at = time.time()
        self.journal.write("started", at=self.started_at, prefix=self.prefix)
        self._thread = threading.Thread(target=self._run, name="vreception-recorder", daemon=True)
        self._thread.start()
        # each frame comes over as bytes of its own: no av.Packet or copy made per frame
        self._remove_sink = self.hub.packet_forwarder.add_data_sink(self._data_sink)
        self._ticker = self._loop.create_task(self._tick_forever(), name="vreception-recorder-tick")

    def set_muted(self, participant_id: str, kind: str, muted: bool) -> None:
        """Tell the recorder (from the event loop) a participant muted KIND on purpose: a gap meanwhile is 'muted'."""
        self._post(("muted", participant_id, kind, muted))

    async def stop(self) -> list[ClosedSegment]:
        """Close every open segment, wait for the uploads, and return all stored segments."""
        if self._remove_sink is not None:
            self._remove_sink()
            self._remove_sink = None
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        self._hand_over()
        if self._thread is not None:
            await asyncio.to_thread(self._queue.put, ("stop", time.time()))
            await asyncio.to_thread(self._thread.join)
        await asyncio.to_thread(self._uploader.shutdown, True)
        self.journal.write("stopped", at=time.time())
        self.journal.close()
        return sorted(self.segments, key=lambda s: s.index)

    def _data_sink(self, source: Source, codec: str, clock_rate: int, data: bytes, pts: int, keyframe: bool,
                   arrival: float) -> None:
        """A frame from the packet forwarder (its own bytes: nothing else holds or changes them)."""
        self._gather(source.participant_id, source.capture, source.kind, codec, data, pts, clock_rate, keyframe,
                     arrival)

    def _gather(self, pid: str, capture: Capture, kind: str, codec: str, data: bytes, pts: int, rate: float,
                keyframe: bool, arrival: float) -> None:
        """Add one frame (PTS in units of 1/RATE s) to the batch for the writer thread, or count it lost."""
        if self._posted - self._taken >= self.queue_frames:
            self.dropped += 1
            span = self._lost.setdefault((pid, capture, kind), [arrival, arrival])
            span[1] = arrival
            return
        now = time.monotonic()
        cached = self._kinds.get((pid, capture))
        if cached is None or now - cached[1] > 0.5:
            try:
                kinds = frozenset(s.kind for s in self.hub.sources(pid) if s.capture == capture)
            except KeyError:
                kinds = frozenset()
            cached = self._kinds[(pid, capture)] = (kinds, now)
        batch = self._batch
        if self._lost:
            lost = self._lost.pop((pid, capture, kind), None)
            if lost is not None:
                batch.append(("lost", pid, capture, kind, lost[0], lost[1]))
        batch.append(("frame", pid, capture, kind, codec, data, pts, rate, keyframe, arrival, cached[0]))
        self._posted += 1
        if len(batch) >= HAND_OVER_FRAMES:
            self._hand_over()

    def _hand_over(self) -> None:
        """Hand the items gathered so far to the writer thread."""
        if self._batch:
            batch, self._batch = self._batch, []
            self._queue.put_nowait(("batch", batch))

    def _post(self, item: tuple[Any, ...]) -> None:
        """Hand ITEM to the writer thread after the frames gathered before it (one hand-off for both)."""
        self._batch.append(item)
        self._hand_over()

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            self._post(("tick", self._present(), time.time()))

    def _present(self) -> frozenset[tuple[str, Capture]]:
        """Every (participant, capture) the hub holds: each participant's camera, and a screen while it is shared."""
        present: set[tuple[str, Capture]] = set()
        for pid in self.hub.participants:
            present.add((pid, CAMERA))
            try:
                present.update((pid, source.capture) for source in self.hub.sources(pid))
            except KeyError:
                pass  # gone meanwhile
        return frozenset(present)

    def _request_keyframe(self, pid: str, capture: Capture) -> None:
        """From the writer thread: ask the hub (on its loop) for a key frame of PID's CAPTURE."""

        def ask() -> None:
            try:
                self.hub.request_keyframe(pid, capture)
            except KeyError:
                pass  # gone meanwhile

        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(ask)

    # in the writer thread

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=TICK * 2)
            except queue.Empty:
                continue
            for one in item[1] if item[0] == "batch" else (item,):
                if one[0] == "stop":
                    self._stop_all(one[1])
                    return
                if one[0] == "frame":
                    self._taken += 1
                if not self._gave_up:
                    self._take(one)

    def _take(self, item: tuple[Any, ...]) -> None:
        kind = item[0]
        try:
            if kind == "frame":
                self._frame(*item[1:])
            elif kind == "tick":
                self._tick(item[1], item[2])
            elif kind == "muted":
                self._state(item[1], CAMERA).muted[item[2]] = item[3]
            elif kind == "lost":
                self._gap(self._state(item[1], item[2]), item[3], item[4], item[5], "recorder_overload")
            self._failures = 0
        except Exception as exc:  # a recorder fault must never reach the call
            self._failed(item, exc)

    def _failed(self, item: tuple[Any, ...], exc: Exception) -> None:
        self._failures += 1
        message = f"recorder: {type(exc).__name__}: {exc}"
        logger.exception("recording %s: writer failed on %s", self.prefix, item[0])
        self._error(message)
        participant = self._participants.get((item[1], item[2])) if item[0] == "frame" else None
        if participant is not None and participant.segment is not None:
            at = participant.segment.last_time
            self._close(participant, "error")
            self._break_off(participant, at, "recorder_error")
        if self._failures >= MAX_FAILURES:
            logger.error("recording %s: giving up after %d failures in a row", self.prefix, self._failures)
            self._error("recorder: gave up after repeated failures")
            for participant in self._participants.values():
                if participant.segment is not None:
                    try:
                        self._close(participant, "error")
                    except Exception:
                        logger.exception("closing a segment after failures")
            self._gave_up = True  # what comes until stop is ignored

    def _error(self, message: str) -> None:
        self.errors.append(message)
        if self.on_error is not None:
            try:
                self.on_error(message)
            except Exception:
                logger.exception("recording on_error callback failed")

    def _state(self, pid: str, capture: Capture) -> _Participant:
        participant = self._participants.get((pid, capture))
        if participant is None:
            participant = self._participants[(pid, capture)] = _Participant(pid, capture)
        return participant

    def _frame(self, pid: str, capture: Capture, kind: str, codec: str, data: bytes, pts: int, rate: float,
               keyframe: bool, arrival: float, kinds: frozenset[str]) -> None:
        participant = self._state(pid, capture)
        if kinds:
            participant.expected = set(kinds)
        track = participant.tracks.get(kind)
        if track is None:
            track = participant.tracks[kind] = _Track(kind)
        at, restarted = track.place(pts / rate, arrival)
        segment = participant.segment
        if restarted and segment is not None:
            # timestamps started again: the participant rejoined (or its sender restarted)
            self._close(participant, "restart")
            self._break_off(participant, segment.last_time, "rejoin")
            segment = None
        elif segment is not None and kind in segment.streams and track.last_at and at - track.last_at > GAP_SECONDS:
            reason = "muted" if participant.muted.get(kind) else "no_media"
            self._gap(participant, kind, track.last_at, at, reason)
        track.last_at = at
        name = codec_name(codec)

        if segment is not None:
            due = at - segment.origin >= self.segment_seconds
            changed = segment.codecs.get(kind) != name
            video_here = "video" in segment.codecs or (kind == "video" and "video" in participant.expected)
            if changed or due:
                if kind == "video" and not keyframe:
                    self._ask_keyframe(participant)
                    if changed:
                        return  # a new video track starts on a key frame
                elif kind == "video" or not video_here:
                    self._close(participant, "tracks_changed" if changed else "segment_length")
                    segment = None
        if segment is None:
            self._open_if_ready(participant, kind, name, data, at, keyframe)  # writes what it held
            return
        self.written += segment.write(kind, data, at, keyframe)

    def _open_if_ready(self, participant: _Participant, kind: str, name: str, data: bytes, at: float,
                       keyframe: bool) -> SegmentFile | None:
        pending = participant.pending
        keyframe_at = next((e[2] for e in pending if e[0] == "video"), None)
        if kind == "video" and keyframe_at is None and not keyframe:
            self._ask_keyframe(participant)
            return None
        pending.append((kind, name, at, data, keyframe))
        if kind == "video" and keyframe_at is None:
            keyframe_at = at
        if keyframe_at is not None:
            # audio captured with the key frame may still be in flight (it is held longer): wait for it a moment
            audio_caught_up = any(e[0] == "audio" and e[2] >= keyframe_at for e in pending)
            if not ("audio" not in participant.expected or audio_caught_up or at - keyframe_at >= OPEN_WAIT):
                return None
        elif "video" in participant.expected and sum(e[0] == "audio" for e in pending) < AUDIO_BUFFER:
            # a camera that never sends a key frame gets an audio-only file after AUDIO_BUFFER frames
            self._ask_keyframe(participant)
            return None
        floor = (keyframe_at if keyframe_at is not None else at) - 3.0
        entries = sorted((e for e in pending if e[2] >= floor), key=lambda e: e[2])
        pending.clear()
        codecs: dict[str, str] = {}
        for entry in entries:
            codecs.setdefault(entry[0], entry[1])
        if "video" in codecs and "audio" in participant.expected:
            codecs.setdefault("audio", "opus")
        first_video = next((e for e in entries if e[0] == "video"), None)
        size = vp8_dimensions(first_video[3]) if first_video and first_video[1] == "vp8" else None
        segment = self._open(participant, codecs, entries[0][2], size)
        for entry_kind, entry_codec, entry_at, entry_data, entry_key in entries:
            if codecs.get(entry_kind) == entry_codec:
                self.written += segment.write(entry_kind, entry_data, entry_at, entry_key)
        return None

    def _open(self, participant: _Participant, codecs: dict[str, str], origin: float,
              size: tuple[int, int] | None) -> SegmentFile:
        index = self._next_index
        self._next_index += 1
        _, extension = container_for(set(codecs.values()))
        key = segment_key(self.prefix, participant.pid, participant.capture, index, extension)
        segment = SegmentFile(self.storage.live_path(key), origin, codecs, self.cluster_ms)
        if size:
            segment.width, segment.height = size
        segment.open()
        gap_before = None
        if participant.pending_gap is not None:
            gap_before = {**participant.pending_gap, "end": origin}
            self._gap(participant, None, gap_before["start"], origin, gap_before["reason"], inside=False)
            participant.pending_gap = None
        participant.segment = segment
        participant.meta = ClosedSegment(
            index=index, participant=participant.pid, key=key, path=segment.path,
            container="webm" if extension == "webm" else "matroska", codecs=dict(codecs),
            started_at=origin, ended_at=0.0, packets={}, gap_before=gap_before, capture=participant.capture,
        )
        self.journal.write("open", index=index, participant=participant.pid, capture=participant.capture, key=key,
                           started_at=origin, codecs=codecs, container=participant.meta.container,
                           gap_before=gap_before)
        return segment

    def _close(self, participant: _Participant, reason: str) -> None:
        segment, meta = participant.segment, participant.meta
        participant.segment = None
        if segment is None or meta is None:
            return
        try:
            segment.close()
        finally:
            meta.ended_at = segment.last_time
            meta.packets = {kind: state.packets for kind, state in segment.streams.items()}
            self.journal.write("close", index=meta.index, participant=meta.participant, ended_at=meta.ended_at,
                               reason=reason, packets=meta.packets)
            self._uploader.submit(self._store, meta)

    def _gap(self, participant: _Participant, kind: str | None, start: float, end: float, reason: str,
             inside: bool = True) -> None:
        gap = {"participant": participant.pid, "capture": participant.capture, "kind": kind, "start": round(start, 3),
               "end": round(end, 3), "reason": reason}
        self.gaps.append(gap)
        if inside and participant.meta is not None and participant.segment is not None:
            participant.meta.gaps.append(gap)
        self.journal.write("gap", **gap)

    def _break_off(self, participant: _Participant, start: float, reason: str) -> None:
        """PARTICIPANT's media broke off at START: a gap until its next file opens (or "left" at the end).

        A shared screen has no such gaps: it stops when its share ends (an event of the call, in the manifest).
        """
        if participant.capture == CAMERA:
            participant.pending_gap = {"start": start, "reason": reason}

    def _ask_keyframe(self, participant: _Participant) -> None:
        now = time.monotonic()
        if now - participant.asked_at >= KEYFRAME_RETRY:
            participant.asked_at = now
            self._request_keyframe(participant.pid, participant.capture)

    def _tick(self, present: frozenset[tuple[str, Capture]], now: float) -> None:
        for participant in self._participants.values():
            segment = participant.segment
            if (participant.pid, participant.capture) not in present:
                participant.pending.clear()
                if segment is not None:
                    self._close(participant, "left")
                    self._break_off(participant, segment.last_time, "rejoin")
                participant.tracks.clear()
            elif segment is not None and now - segment.origin >= self.segment_seconds and "video" in segment.codecs:
                self._ask_keyframe(participant)

    def _stop_all(self, now: float) -> None:
        for participant in self._participants.values():
            try:
                self._close(participant, "stopped")
            except Exception as exc:
                self._failed(("close", participant.pid), exc)
            if participant.pending_gap is not None:
                # left and never came back before the end
                self._gap(participant, None, participant.pending_gap["start"], now, "left", inside=False)
                participant.pending_gap = None

    # in the upload thread

    def _store(self, meta: ClosedSegment) -> None:
        try:
            meta.sha256, meta.bytes = sha256_file(meta.path)
            self.storage.put(meta.key, meta.path)
            self.journal.write("stored", index=meta.index, key=meta.key, sha256=meta.sha256, bytes=meta.bytes)
            self.segments.append(meta)
        except Exception as exc:
            logger.exception("recording %s: storing segment %s failed", self.prefix, meta.key)
            self._error(f"storing segment {meta.index}: {type(exc).__name__}: {exc}")
            return
        if self.on_segment is not None:
            try:
                self.on_segment(meta)
            except Exception as exc:
                logger.exception("recording %s: registering segment %s failed", self.prefix, meta.key)
                self._error(f"registering segment {meta.index}: {type(exc).__name__}: {exc}")
