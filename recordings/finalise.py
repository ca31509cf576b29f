"""Finalising a recording's media: the segments remuxed (never re-encoded) into one file per session."""

from __future__ import annotations

import fractions
import heapq
import itertools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from av.stream import Stream

from recordings.segment import CAMERA, Capture, container_for
from recordings.storage import Storage, fetch, sha256_file

MS = fractions.Fraction(1, 1000)


@dataclass(frozen=True)
class SegmentRef:
    """What the combiner needs of a segment: where it is, whose it is (and which capture), when it starts (epoch s)."""

    index: int
    participant_id: int
    key: str
    started_at: float
    capture: Capture = CAMERA


@dataclass
class Combined:
    """The combined file made from the segments, hashed."""

    path: Path
    container: str  # webm | matroska
    extension: str
    sha256: str
    bytes: int
    duration_s: float
    started_at: float  # epoch seconds of its timestamp 0
    tracks: list[dict[str, Any]] = field(default_factory=list)
    segments: tuple[int, ...] = ()  # indexes of the segments it was made from


# A track of the combined file: participant, capture (camera, screen), kind (audio, video), codec.
Track = tuple[int, Capture, str, str]


def _packets(path: Path, offset_ms: int, owner: tuple[int, Capture]) -> Iterator[tuple[int, Track, av.Packet[Stream]]]:
    with av.open(str(path)) as container:
        try:
            for packet in container.demux():
                if packet.pts is None or packet.size == 0:
                    continue
                ms = offset_ms + round(float(packet.pts * packet.time_base) * 1000)
                stream = packet.stream
                yield ms, (*owner, stream.type, stream.codec_context.name), packet
        except av.error.InvalidDataError:
            return  # a segment cut short by a crash ends at its last whole packet


def _owner_packets(files: list[tuple[Path, int]],
                   owner: tuple[int, Capture]) -> Iterator[tuple[int, Track, av.Packet[Stream]]]:
    # one participant's segments of one capture follow each other in time: chaining them keeps one file open
    return itertools.chain.from_iterable(_packets(path, offset, owner) for path, offset in files)


def combine(segments: list[SegmentRef], storage: Storage, target_dir: Path) -> Combined:
    """Remux every segment into one file: one audio and one video track per participant (per codec), and one
    video track more for a participant who shared a screen."""
    if not segments:
        raise ValueError("a recording without segments has nothing to combine")
    work = Path(tempfile.mkdtemp(prefix="combine-", dir=target_dir))
    ordered = sorted(segments, key=lambda s: (s.started_at, s.index))
    base = min(s.started_at for s in ordered)
    local = {s.index: fetch(storage, s.key, work / f"seg-{s.index:05d}") for s in ordered}

    # pass 1: the tracks, templated on the first segment that has each
    templates: dict[Track, tuple[Path, int]] = {}
    for ref in ordered:
        with av.open(str(local[ref.index])) as container:
            for stream in container.streams:
                track: Track = (ref.participant_id, ref.capture, stream.type, stream.codec_context.name)
                templates.setdefault(track, (local[ref.index], stream.index))
    codecs = {codec for _, _, _, codec in templates}
    format_name, extension = container_for(codecs)
    target = work / f"combined.{extension}"
    output = av.open(str(target), "w", format=format_name)
    streams: dict[Track, av.stream.Stream] = {}
    tracks = []
    for track in sorted(templates, key=lambda t: (t[0], t[1] != CAMERA, t[2] != "audio", t[3])):
        path, index = templates[track]
        with av.open(str(path)) as container:
            stream = output.add_stream_from_template(container.streams[index])
        stream.time_base = MS
        participant_id, capture, kind, codec = track
        stream.metadata["title"] = f"participant {participant_id} {kind if capture == CAMERA else capture}"
        streams[track] = stream
        tracks.append({"index": stream.index, "participant_id": participant_id, "source": capture, "kind": kind,
                       "codec": codec})

    # pass 2: packets of all participants merged in time order
    by_owner: dict[tuple[int, Capture], list[tuple[Path, int]]] = {}
    for ref in ordered:
        offset = round((ref.started_at - base) * 1000)
        by_owner.setdefault((ref.participant_id, ref.capture), []).append((local[ref.index], offset))
    last: dict[Track, int] = {}
    first_ms = last_ms = None
    merged = heapq.merge(*(_owner_packets(files, owner) for owner, files in by_owner.items()),
                         key=lambda item: item[0])
    for ms, track, packet in merged:
        # segments of one participant may overlap by a frame at a rotation: stay strictly increasing
        ms = max(ms, last.get(track, -1) + 1)
        last[track] = ms
        packet.stream = streams[track]
        packet.time_base = MS
        packet.pts = packet.dts = ms
        output.mux(packet)
        first_ms = ms if first_ms is None else min(first_ms, ms)
        last_ms = ms if last_ms is None else max(last_ms, ms)
    output.close()
    for ref in ordered:
        if local[ref.index].parent == work:
            local[ref.index].unlink(missing_ok=True)
    sha256, size = sha256_file(target)
    return Combined(
        path=target, container=format_name, extension=extension, sha256=sha256, bytes=size,
        duration_s=round(((last_ms or 0) - (first_ms or 0)) / 1000, 3), started_at=base, tracks=tracks,
        segments=tuple(sorted(s.index for s in segments)),
    )
