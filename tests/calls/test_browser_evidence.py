"""Evidence shown in a call, in real Chromium: the leader shows a two-page PDF, the room sees page 1 then page 2,
and the recording's manifest lists both page events (tests/calls/netns_evidence.py)."""

from __future__ import annotations

import pytest

from tests.browser import run_in_namespace

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_leader_shows_a_two_page_pdf_the_room_follows_and_the_manifest_lists_the_pages(tmp_path):
    result = run_in_namespace("tests.calls.netns_evidence", [], tmp_path / "evidence")
    assert result["live"]
    assert result["recording_ran"] and result["page_1_stored"] and result["page_2_stored"], result
    # The room's screen: page 1 (red), then page 2 (blue) after the leader turned the page; no controls of its own.
    assert result["room_page_1"] and "1" in result["room_caption_1"], result
    assert result["room_page_2"] and result["leader_page_2"] and "2" in result["room_caption_2"], result
    assert result["room_has_no_controls"]
    assert result["state_ended"]
    manifest = result["manifest"]
    # `recordings verify` finds the manifest, the files, the segments and the audit chain intact, with the events.
    assert manifest, result
    assert manifest["verify"]["problems"] == [], manifest["verify"]["problems"]
    shown = [e for e in manifest["document"]["events"] if e["kind"] == "evidence_shown"]
    assert [(e["page"], e["pages"], e["participant_id"]) for e in shown] == \
           [(1, 2, result["leader_id"]), (2, 2, result["leader_id"])], shown
    assert all(e["item"].startswith("upload:") for e in shown)
    assert 0 < shown[0]["offset_s"] < shown[1]["offset_s"], shown
