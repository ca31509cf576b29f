"""The recorder's hand-off to its writer thread: frames in batches, in order, bounded, the overflow a gap."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace

from recordings.recorder import TICK, Recorder
from recordings.segment import CAMERA
from recordings.storage import LocalStorage


class Hub:
    """The part of a packet-path MediaHub the recorder uses: sources, the forwarder's data sinks."""

    def __init__(self) -> None:
        self.participants = ["7"]
        self.source = SimpleNamespace(participant_id="7", kind="audio", capture=CAMERA)
        self.data_sinks: list = []
        self.packet_forwarder = self

    def sources(self, participant_id: str) -> list[SimpleNamespace]:
        return [self.source]

    def add_data_sink(self, sink):
        self.data_sinks.append(sink)
        return lambda: self.data_sinks.remove(sink)

    def request_keyframe(self, participant_id: str, capture=None) -> None:
        pass


def test_frames_reach_the_writer_in_order_and_an_overflow_is_a_gap(tmp_path):
    hub = Hub()
    recorder = Recorder(hub, storage=LocalStorage(tmp_path), prefix="r", queue_frames=10)
    taken: list[tuple] = []
    release = threading.Event()

    def take(item: tuple) -> None:  # the writer, stuck on its first frame until released
        release.wait(10)
        taken.append(item)

    recorder._take = take  # type: ignore[method-assign]

    async def scenario() -> None:
        recorder.start()
        assert hub.data_sinks == [recorder._data_sink]  # raw frames from the forwarder
        (sink,) = hub.data_sinks
        for i in range(30):
            sink(hub.source, "audio/opus", 48000, bytes([i]), i * 960, True, 100.0 + i * 0.02)
        assert recorder.dropped == 20  # 10 waiting for the writer at most
        await asyncio.sleep(TICK * 3)
        release.set()
        sink(hub.source, "audio/opus", 48000, b"late", 30 * 960, True, 100.6)
        await recorder.stop()

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started < 5
    frames = [item for item in taken if item[0] == "frame"]
    assert [f[5] for f in frames] == [bytes([i]) for i in range(10)] + [b"late"]
    assert [f[6:8] for f in frames[:2]] == [(0, 48000), (960, 48000)]  # pts and clock rate, for the media time
    lost = [item for item in taken if item[0] == "lost"]
    assert lost == [("lost", "7", CAMERA, "audio", 100.2, 100.58)]  # the 20 frames not taken, before the next one
    assert taken.index(lost[0]) == taken.index(frames[-1]) - 1
