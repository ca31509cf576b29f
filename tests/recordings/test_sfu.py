"""The media hub with real aiortc peers on loopback: encoded forwarding, renegotiation, key frames, clean-up."""

from __future__ import annotations

import asyncio
import threading
import time

import aiortc
import pytest

from recordings import aiortc_hooks
from recordings.forwarding import PLI_INTERVAL
from recordings.rtp.assemble import h264_is_keyframe
from tests.recordings.media_clients import add_client, close_to, make_hub, wait_until

AMPLITUDES = {"alice": 3000, "bob": 9000, "carol": 16000}


def heard(client, publisher: str) -> bool:
    """True when CLIENT hears PUBLISHER's tone at about its loudness (Opus keeps the peak within ±40 %)."""
    peak = client.got(publisher, "audio").peak
    return 0.6 * AMPLITUDES[publisher] <= peak <= 1.4 * AMPLITUDES[publisher]


def sees(client, publisher: str, colour: str) -> bool:
    """True when CLIENT decodes PUBLISHER's video in COLOUR."""
    return close_to(client.got(publisher, "video").yuv, colour)


def decoder_threads() -> list[threading.Thread]:
    """aiortc's per-receiver decoder threads still alive."""
    return [t for t in threading.enumerate() if t.name.endswith("-decoder")]


async def _cleanup(hub, clients) -> None:
    await hub.close()
    for client in clients.values():
        await client.close()


def test_two_participants_see_and_hear_each_other():
    async def scenario():
        hub, clients = make_hub()
        try:
            alice = add_client(hub, clients, "alice", "red", AMPLITUDES["alice"])
            bob = add_client(hub, clients, "bob", "blue", AMPLITUDES["bob"])
            await alice.join()
            await bob.join()
            assert await wait_until(
                lambda: sees(alice, "bob", "blue")
                and sees(bob, "alice", "red")
                and heard(alice, "bob")
                and heard(bob, "alice"),
                timeout=8,
            ), {c.name: c.received for c in clients.values()}
            # nothing comes back to its own publisher
            assert alice.got("alice", "video").frames == 0 and bob.got("bob", "video").frames == 0
            assert {t["publisher"] for t in hub.forwarded_tracks("alice")} == {"bob"}
            # the hub forwarded what the clients sent, it did not re-encode: VP8 and Opus throughout
            assert {s.codec for s in hub.sources("alice")} == {"video/VP8", "audio/opus"}
        finally:
            await _cleanup(hub, clients)

    asyncio.run(scenario())


def test_three_participants_each_receive_the_two_others():
    async def scenario():
        hub, clients = make_hub()
        colours = {"alice": "red", "bob": "blue", "carol": "green"}
        try:
            for name, colour in colours.items():
                await add_client(hub, clients, name, colour, AMPLITUDES[name]).join()

            def everyone_ok() -> bool:
                return all(
                    sees(clients[viewer], publisher, colour) and heard(clients[viewer], publisher)
                    for viewer in colours
                    for publisher, colour in colours.items()
                    if publisher != viewer
                )

            assert await wait_until(everyone_ok, timeout=10), {c.name: c.received for c in clients.values()}
            for viewer in colours:
                assert sorted((t["publisher"], t["kind"]) for t in hub.forwarded_tracks(viewer)) == sorted(
                    (p, k) for p in colours if p != viewer for k in ("audio", "video")
                )
        finally:
            await _cleanup(hub, clients)

    asyncio.run(scenario())


def test_late_joiner_gets_a_keyframe_within_a_second():
    async def scenario():
        hub, clients = make_hub()
        try:
            alice = add_client(hub, clients, "alice", "red", AMPLITUDES["alice"])
            bob = add_client(hub, clients, "bob", "blue", AMPLITUDES["bob"])
            await alice.join()
            await bob.join()
            assert await wait_until(lambda: sees(bob, "alice", "red"), timeout=8)
            # aiortc's VP8 encoder only makes key frames when asked (gop 3000 frames), so after
            # a while of call (45 frames) only a PLI forwarded to alice can give carol a picture
            alice_video = next(s for s in hub.sources("alice") if s.kind == "video")
            seen = alice_video.frames
            assert await wait_until(lambda: alice_video.frames >= seen + 45, timeout=10)
            keyframes_before = alice_video.keyframes

            carol = add_client(hub, clients, "carol", "green", AMPLITUDES["carol"])
            # timed from carol's connection to her first decoded frame of each: ICE and DTLS are not the hub's
            connected: list[float] = []
            carol.pc.on("connectionstatechange",
                        lambda: connected.append(time.monotonic()) if carol.pc.connectionState == "connected" else None)
            started = time.monotonic()
            await carol.join()
            assert await wait_until(lambda: sees(carol, "alice", "red") and sees(carol, "bob", "blue"), timeout=3)
            first = max(carol.got(p, "video").first_at for p in ("alice", "bob"))
            assert connected and first - connected[0] < 1.0, (
                f"first frame {first - started:.2f} s after the join, connected after {connected[0] - started:.2f} s")
            assert alice_video.keyframes > keyframes_before
        finally:
            await _cleanup(hub, clients)

    asyncio.run(scenario())


def test_viewer_pli_reaches_the_publisher():
    async def scenario():
        hub, clients = make_hub()
        try:
            alice = add_client(hub, clients, "alice", "red", AMPLITUDES["alice"])
            bob = add_client(hub, clients, "bob", "blue", AMPLITUDES["bob"])
            await alice.join()
            await bob.join()
            assert await wait_until(lambda: sees(bob, "alice", "red"), timeout=8)
            source = next(s for s in hub.sources("alice") if s.kind == "video")
            # The start-up key frames are in and the hub's PLI limit has lapsed: the next key frame is bob's doing.
            assert await wait_until(lambda: source.keyframes >= 1
                                    and time.monotonic() - source.last_pli >= PLI_INTERVAL, timeout=5)
            before = source.keyframes
            # bob's own receiver reports picture loss on alice's forwarded track, as a browser would
            receiver = next(
                t.receiver
                for t in bob.pc.getTransceivers()
                if t.receiver.track is not None and t.receiver.track.id.startswith("alice-video")
            )
            assert await aiortc_hooks.send_pli(receiver)
            assert await wait_until(lambda: source.keyframes > before, timeout=1.0)
        finally:
            await _cleanup(hub, clients)

    asyncio.run(scenario())


def test_aiortc_private_hooks_are_still_there():
    # A failure here means aiortc changed: re-read rtcrtpreceiver.py / rtcrtpsender.py, adapt
    # recordings/aiortc_hooks.py, and move the pin in pyproject.toml.
    assert aiortc.__version__.startswith("1.16."), aiortc.__version__
    assert aiortc_hooks.missing_hooks() == []
    aiortc_hooks.check_hooks()
    assert h264_is_keyframe(b"\x00\x00\x00\x01\x67\x42") and not h264_is_keyframe(b"\x00\x00\x00\x01\x41\x9a")


def test_hook_check_names_what_changed(monkeypatch):
    monkeypatch.delattr(aiortc.RTCRtpReceiver, "_send_rtcp_pli")
    with pytest.raises(aiortc_hooks.AiortcHookError, match="_send_rtcp_pli"):
        aiortc_hooks.check_hooks()


def test_leave_renegotiates_and_close_releases_everything():
    async def scenario():
        baseline_tasks = len(asyncio.all_tasks())
        hub, clients = make_hub()
        alice = add_client(hub, clients, "alice", "red", AMPLITUDES["alice"])
        bob = add_client(hub, clients, "bob", "blue", AMPLITUDES["bob"])
        await alice.join()
        await bob.join()
        assert await wait_until(lambda: sees(alice, "bob", "blue") and sees(bob, "alice", "red"), timeout=8)

        # bob leaves: alice is offered his m-lines as inactive and stops receiving him
        bob_pc = hub.peer_connection("bob")
        offers = alice.offers
        await hub.remove_participant("bob")
        await bob.close()
        assert hub.participants == ["alice"]
        assert bob_pc.connectionState == "closed"
        assert await wait_until(lambda: alice.offers > offers, timeout=3)
        assert hub.forwarded_tracks("alice") == []
        assert all(s.outlets == set() for s in hub.sources("alice"))

        # bob comes back with a fresh connection and sees alice again
        del clients["bob"]
        bob = add_client(hub, clients, "bob", "green", AMPLITUDES["bob"])
        await bob.join()
        assert await wait_until(lambda: sees(bob, "alice", "red") and sees(alice, "bob", "green"), timeout=8)

        pcs = [hub.peer_connection(p) for p in hub.participants]
        sources = [s for p in hub.participants for s in hub.sources(p)]
        await hub.close()
        for client in clients.values():
            await client.close()
        assert all(pc.connectionState == "closed" for pc in pcs)
        assert all(s.stopped and s.outlets == set() for s in sources)
        assert hub.participants == []
        # aiortc's own tasks wind down asynchronously after close(): give them a moment
        assert await wait_until(lambda: len(asyncio.all_tasks()) <= baseline_tasks, timeout=5), [
            t.get_coro() for t in asyncio.all_tasks()
        ]
        # every receiver's decoder thread (idle on the hub, decoding at the clients) is gone
        assert await wait_until(lambda: not decoder_threads(), timeout=5), decoder_threads()

    asyncio.run(scenario())
