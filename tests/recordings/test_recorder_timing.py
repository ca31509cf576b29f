"""How the recorder places a track's frames in time: media time kept through a stall, a new sender noticed."""

from __future__ import annotations

from recordings.recorder import _Track


def _feed(track: _Track, frames: list[tuple[float, float]]) -> list[tuple[float, bool]]:
    return [track.place(rtp, arrival) for rtp, arrival in frames]


def test_frames_held_up_by_a_stall_keep_their_media_time():
    track = _Track("video")
    placed = _feed(track, [(i / 30, 100 + i / 30) for i in range(30)])
    # the process stalls 1.5 s: the next frames arrive together, their timestamps carrying on
    late = _feed(track, [((30 + i) / 30, 102.5 + i * 0.001) for i in range(5)])
    assert not any(restarted for _, restarted in placed[1:] + late)
    assert [round(at, 3) for at, _ in late] == [round(100 + (30 + i) / 30, 3) for i in range(5)]


def test_a_new_sender_is_a_restart():
    track = _Track("video")
    _feed(track, [(i / 30, 100 + i / 30) for i in range(30)])
    # a rejoin: a new random timestamp base, behind or ahead of the old one
    assert track.place(5000.0, 102.0)[1]
    track = _Track("video")
    _feed(track, [(1000 + i / 30, 100 + i / 30) for i in range(30)])
    assert track.place(3.0, 101.5)[1]
    # a new base only a little behind the old one, arriving on time: its frames would land in the past
    track = _Track("audio")
    _feed(track, [(i / 50, 100 + i / 50) for i in range(100)])
    assert track.place(-0.5, 102.1)[1]
