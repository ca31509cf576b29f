"""Screen share in real Chromium: the leader shares a screen with getDisplayMedia, the room's page receives it in a
tile of its own, both ways of stopping remove it, and the recording holds it as an extra video stream
(tests/calls/netns_screen_share.py)."""

from __future__ import annotations

import pytest

from tests.browser import run_in_namespace

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_leader_shares_a_screen_the_room_receives_it_and_the_recording_keeps_it(tmp_path):
    result = run_in_namespace("tests.calls.netns_screen_share", [], tmp_path / "screen")
    assert result["live"]
    # Only those who may show evidence share; the room is not allowed here.
    assert result["room_button_hidden"] and result["leader_button_ready"], result
    first = result["first"]
    # The room's large tile shows the fake screen, labelled with who shares it; its own track's counters grow.
    assert first["shown"] and "共享的屏幕" in first["caption"], first
    assert first["packets"] > 0 and first["frames"] > 0, first
    assert result["screen_label"], result  # a real display capture (getDisplayMedia), not a canvas
    assert result["leader_button"] == "停止共享" and result["leader_preview"], result
    # 停止共享 removes it from the room's page; a second share ends through the track's own `ended`.
    assert result["first_removed"] and result["leader_button_after"] == "共享屏幕", result
    assert result["second"]["shown"] and result["second"]["packets"] > 0, result["second"]
    assert result["second_removed"] and result["room_camera_still"], result
    assert result["state_ended"]
    # The recording: two cameras and the screen, two microphones; the manifest names the screen and both shares.
    assert result["recording"]["video"] == 3 and result["recording"]["audio"] == 2, result["recording"]
    manifest = result["manifest"]
    assert manifest and manifest["verify"]["problems"] == [], manifest
    document = manifest["document"]
    screens = [t for t in document["media"]["tracks"] if t["source"] == "screen"]
    assert [(t["participant_id"], t["kind"]) for t in screens] == [(result["leader_id"], "video")], screens
    shares = [e for e in document["events"] if e["kind"].startswith("screen_share")]
    assert [(e["kind"], e["participant_id"]) for e in shares] == [
        ("screen_share_started", result["leader_id"]),
        ("screen_share_ended", result["leader_id"]),
    ] * 2, shares
    assert [e["offset_s"] for e in shares] == sorted(e["offset_s"] for e in shares) and shares[0]["offset_s"] > 0
