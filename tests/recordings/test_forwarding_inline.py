"""The cheap forwarding path: frames handed over inline on the event loop, the outlet's queue rules."""

from __future__ import annotations

import asyncio
import fractions
import threading
from types import SimpleNamespace
from unittest import mock

import av
import pytest
from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from recordings import forwarding, passthrough
from tests.recordings.media_clients import add_client, make_hub, wait_until

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
KEY, DELTA = b"\x10\x02\x00\x9d\x01\x2a", b"\x11\x00\x00"


def _receiver() -> RTCRtpReceiver:
    return RTCRtpReceiver("video", mock.Mock(state="new"))


def test_marked_receiver_hands_frames_to_its_listener_without_the_decoder_thread():
    receiver = _receiver()
    passthrough.mark_receiver(receiver)
    inlet = receiver._RTCRtpReceiver__decoder_queue
    assert isinstance(inlet, passthrough.Inlet)
    got = []
    assert passthrough.listen(receiver, got.append)

    inlet.put((VP8, JitterFrame(KEY, 0)))
    inlet.put((VP8, JitterFrame(DELTA, 3000)))
    assert [(bytes(p), p.pts, p.dts, p.time_base, p.is_keyframe) for p in got] == [
        (KEY, 0, 0, fractions.Fraction(1, 90000), True),
        (DELTA, 3000, 3000, fractions.Fraction(1, 90000), False),
    ]
    assert passthrough.received_codec(receiver) is VP8

    # the parked decoder thread wakes only for the receiver's stop, and then ends the track as before
    parked = threading.Thread(target=lambda: got.append(inlet.get()))
    parked.start()
    parked.join(0.05)
    assert parked.is_alive()
    inlet.put(None)
    parked.join(1)
    assert not parked.is_alive() and got[-1] is None


def test_a_listener_failure_does_not_reach_the_rtp_path(caplog):
    receiver = _receiver()
    passthrough.mark_receiver(receiver)
    passthrough.listen(receiver, lambda packet: 1 / 0)
    receiver._RTCRtpReceiver__decoder_queue.put((VP8, JitterFrame(KEY, 0)))
    assert "listener" in caplog.text


def test_a_receiver_marked_after_it_started_keeps_the_thread_hook():
    receiver = _receiver()
    receiver._RTCRtpReceiver__decoder_thread = threading.current_thread()  # as receive() leaves it
    passthrough.mark_receiver(receiver)
    assert not isinstance(receiver._RTCRtpReceiver__decoder_queue, passthrough.Inlet)
    assert not passthrough.listen(receiver, print)


def _packet(data: bytes) -> av.Packet:
    return av.Packet(data)


def test_outlet_starts_on_a_keyframe_drops_on_overflow_and_ends_cleanly():
    async def scenario():
        source = SimpleNamespace(kind="video", outlets=set(), asked=0)
        source.request_keyframe = lambda: setattr(source, "asked", source.asked + 1)
        outlet = forwarding.Outlet(source, "alice-video-1")
        source.outlets.add(outlet)

        outlet.push(_packet(KEY), True)  # the sender is not reading yet: dropped
        reader = asyncio.create_task(outlet.recv())
        await asyncio.sleep(0)
        assert source.asked == 1  # the first read asks for a key frame
        outlet.push(_packet(DELTA), False)  # no key frame yet: dropped
        outlet.push(_packet(KEY), True)
        assert bytes(await asyncio.wait_for(reader, 1)) == KEY

        for _ in range(forwarding.OUTLET_QUEUE):
            outlet.push(_packet(DELTA), False)
        outlet.push(_packet(DELTA), False)  # one too many: the viewer falls back to the next key frame
        assert len(outlet._queue) == 0 and source.asked == 2
        outlet.push(_packet(DELTA), False)
        assert len(outlet._queue) == 0
        outlet.push(_packet(KEY), True)
        assert bytes(await outlet.recv()) == KEY

        reader = asyncio.create_task(outlet.recv())
        await asyncio.sleep(0)
        outlet.stop()
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(reader, 1)
        assert outlet not in source.outlets

    asyncio.run(scenario())


def test_hub_forwards_inline_and_sinks_get_every_frame():
    async def scenario():
        hub, clients = make_hub()
        frames = []
        remove = hub.add_sink(frames.append)
        try:
            alice = add_client(hub, clients, "alice", "red", 3000)
            bob = add_client(hub, clients, "bob", "blue", 9000)
            await alice.join()
            await bob.join()
            assert await wait_until(lambda: alice.got("bob", "video").frames > 10 and bob.got("alice", "video").frames > 10, 8)
            sources = [s for p in hub.participants for s in hub.sources(p)]
            assert all(s.inline for s in sources)
            # nothing piles up in the receivers' own track queues: the hub took every frame inline
            assert all(s.track._queue.qsize() == 0 for s in sources)
            kinds = {(f.participant_id, f.kind, f.codec) for f in frames}
            assert kinds == {
                ("alice", "video", "video/VP8"), ("alice", "audio", "audio/opus"),
                ("bob", "video", "video/VP8"), ("bob", "audio", "audio/opus"),
            }
            assert all(isinstance(f.packet, av.Packet) for f in frames)
            assert any(f.keyframe for f in frames if f.kind == "video")
            counted = {(s.participant_id, s.kind): s.frames for s in sources}
            assert sum(counted.values()) == len(frames)
        finally:
            remove()
            await hub.close()
            for client in clients.values():
                await client.close()

    asyncio.run(scenario())
