"""A group visit in real Chromium: booked from the booking page, joined, seen, named in the roster; after the end
the kiosk lets go of camera and microphone and goes back to its start screen."""

from __future__ import annotations

import pytest

from tests.browser import run_in_namespace

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_group_of_seven_booked_on_the_page_meets_the_leader_and_the_kiosk_lets_go_after_the_end(tmp_path):
    result = run_in_namespace("tests.calls.netns_group_visit", [], tmp_path / "group_visit")
    # Booked from the page: the group's three representatives sit in the room, by name.
    assert sorted(name for role, name in result["seats"] if role == "representative") == ["周五", "孙三", "赵一"]
    assert result["lobby_shown"] and result["leader_sees_room"] and result["room_sees_leader"]
    assert result["frames"]["leader"] > 30 and result["frames"]["room"] > 30
    roster = result["roster_representatives"]
    assert len(roster) == 3 and all(any(name in line for line in roster) for name in ("赵一", "孙三", "周五")), roster
    assert "赵一" in result["room_caption"]
    assert len(result["desk_petitioners"]) == 7
    assert result["earlier_number"] in result["desk_same_people"] and "赵一" in result["desk_same_people"]
    # After the end: every kiosk track is ended, the end is said, and the kiosk goes back to its start screen.
    assert result["room_tracks_before"] and all(s == "live" for s in result["room_tracks_before"])
    assert result["room_tracks_after"] and all(s == "ended" for s in result["room_tracks_after"])
    assert result["room_after_shown"] and "接访已结束" in result["room_after_text"] and result["room_video_released"]
    assert result["leader_after_links"] and result["leader_tracks_after"]
    assert result["room_returned_to"] == "/kiosk", result["room_returned_to"]
    assert result["state"] == "ended"
