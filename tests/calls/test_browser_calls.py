"""Calls in real Chromium through the server, each scenario in a private network namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser import run_in_namespace

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def run_scenario(name: str, tmp_path: Path) -> dict:
    """Run SCENARIO of netns_scenarios in its own network namespace; its result."""
    return run_in_namespace("tests.calls.netns_scenarios", [name], tmp_path / name)


def test_two_party_reception(tmp_path):
    result = run_scenario("two_party", tmp_path)
    assert result["room_waiting"] and result["lobby_shown"]
    assert result["leader_sees_room"] and result["room_sees_leader"]
    assert result["leader_audio_packets"] > 50 and result["room_audio_packets"] > 50
    assert result["state_live"] and result["recording_badge"]
    assert result["room_saw_end"] and result["state_ended"]
    assert result["record_saved"] and result["task_assigned"] and result["still_live"]
    assert result["desk_rows"]["tasks"] == ["核实土地补偿款发放情况"]
    assert len(result["desk_rows"]["records"]) == 1 and result["desk_rows"]["record_has_notes"]
    assert result["recording"]["video"] == 2 and result["recording"]["audio"] == 2, result["recording"]
    playback = result["playback"]
    assert playback["error"] is None and playback["width"] > 0 and playback["time"] >= 1.5, playback


def test_three_party_hearing_with_a_late_joiner(tmp_path):
    result = run_scenario("hearing", tmp_path)
    for key in ("leader_sees_room", "member_sees_leader", "member_sees_room", "leader_sees_member",
                "room_sees_member", "room_sees_leader"):
        assert result[key], key
    first_frames = result["late_joiner_first_frames_ms"]
    assert first_frames and len(first_frames) == 2
    assert max(first_frames) < 1000, first_frames


def test_closed_kiosk_page_rejoins_and_the_call_resumes(tmp_path):
    result = run_scenario("rejoin", tmp_path)
    assert result["before"] and result["leader_saw_room_drop"]
    assert result["rejoin_messages"][:2] == ["welcome", "admitted"] and "lobby" not in result["rejoin_messages"]
    assert result["after_room_sees_leader"] and result["after_leader_sees_room"]
    assert result["state"] == "live"
