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
    for name, reports in result["reports"].items():
        # the server's compound RTCP as Chromium reads it: a round trip for what the page sends (its RR, LSR and
        # DLSR from the page's own SR) and, for what it gets, the SR's packet counts
        assert set(reports["rtt"]) == set(reports["sent"]) == {"audio", "video"}, (name, reports)
        assert all(0 <= rtt < 1 for rtt in reports["rtt"].values()), (name, reports)
        assert all(sent > 0 for sent in reports["sent"].values()), (name, reports)
    assert result["end_asked"] and result["cancel_kept_call"]  # the end button asks; going on ends nothing
    assert result["room_saw_end"] and result["state_ended"]
    assert result["record_saved"] and result["task_assigned"] and result["still_live"]
    assert result["desk_rows"]["tasks"] == ["核实土地补偿款发放情况"]
    assert len(result["desk_rows"]["records"]) == 1 and result["desk_rows"]["record_has_notes"]
    assert result["recording"]["video"] == 2 and result["recording"]["audio"] == 2, result["recording"]
    playback = result["playback"]
    assert playback["error"] is None and playback["width"] > 0 and playback["time"] >= 1.5, playback


# One rerun, as for the real-time recording tests: in two full media passes this session (one clean CI run) the late
# member's stats watcher recorded no first frame although the member saw both colours (late_joiner_first_frames_ms
# == [], signalling as in a passing run); alone it passed 8 times out of 8. The cause is still to be found.
@pytest.mark.flaky(reruns=1)
def test_a_booked_hearing_with_a_late_joiner_a_gallery_and_a_private_deliberation(tmp_path):
    result = run_scenario("hearing", tmp_path)
    assert result["chair_seat"]
    for key in ("chair_sees_room", "member_sees_chair", "member_sees_room", "chair_sees_member",
                "room_sees_member", "room_sees_chair"):
        assert result[key], key
    first_frames = result["late_joiner_first_frames_ms"]
    assert first_frames and len(first_frames) == 2, (first_frames, result["late_joiner_log"])
    assert max(first_frames) < 1000, first_frames
    # The gallery watches the chair without signing in, and shows roles, never a name.
    assert result["gallery_admitted"] and result["gallery_sees_chair"]
    assert result["gallery_names_shown"] == [], result["gallery_names_shown"]
    assert len(result["gallery_speakers"]) == 3, result["gallery_speakers"]
    # One step of the order of proceedings, shown on the room's page and in the gallery.
    assert result["agenda_first_step"] and result["room_agenda"] and result["gallery_agenda"]
    assert result["room_current_step"] == "opening"
    # The private deliberation: the room and the gallery wait and receive nothing; the panel goes on.
    assert result["room_waiting_status"] and result["gallery_waiting_status"]
    assert result["room_held"] and result["gallery_held"] and result["chair_deliberating_badge"]
    assert set(result["held_peers"].values()) <= {None, "closed"}, result["held_peers"]
    during = result["during_deliberation"]
    assert during["room"]["packets"] == 0 and during["gallery"]["packets"] == 0, during
    assert during["member"]["packets"] > 50 and during["member"]["frames"] > 10, during
    assert result["member_sees_chair_in_deliberation"]
    # Back from deliberation: the room and the gallery receive the chair again.
    after = result["after_deliberation"]
    assert result["room_back_status"] and result["media_back"], result["media_back_s"]
    assert after["room"]["frames"] > 10 and after["gallery"]["frames"] > 10, after
    assert result["room_sees_chair_again"] and result["gallery_sees_chair_again"]


def test_closed_kiosk_page_rejoins_and_the_call_resumes(tmp_path):
    result = run_scenario("rejoin", tmp_path)
    assert result["before"] and result["leader_saw_room_drop"]
    assert result["rejoin_messages"][:2] == ["welcome", "admitted"] and "lobby" not in result["rejoin_messages"]
    assert result["after_room_sees_leader"] and result["after_leader_sees_room"]
    assert result["state"] == "live"
