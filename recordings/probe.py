"""What a media file holds, read by demuxing (no decoding): streams, packet counts, time span."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av


@dataclass
class StreamInfo:
    """One stream of a file."""

    index: int
    kind: str  # audio | video
    codec: str
    packets: int = 0
    keyframes: int = 0
    first: float | None = None  # seconds
    last: float | None = None
    first_is_keyframe: bool | None = None
    increasing: bool = True  # timestamps strictly increase


@dataclass
class Probe:
    """Every stream of a file and the span the file covers."""

    streams: list[StreamInfo] = field(default_factory=list)

    @property
    def start(self) -> float:
        """Earliest timestamp in seconds."""
        return min((s.first for s in self.streams if s.first is not None), default=0.0)

    @property
    def end(self) -> float:
        """Latest timestamp in seconds."""
        return max((s.last for s in self.streams if s.last is not None), default=0.0)

    @property
    def duration(self) -> float:
        """Seconds from the earliest to the latest packet."""
        return max(0.0, self.end - self.start)

    def of(self, kind: str) -> list[StreamInfo]:
        """The streams of KIND."""
        return [s for s in self.streams if s.kind == kind]


def probe(path: Path | str) -> Probe:
    """Demux PATH and describe it; a file cut short by a crash is read up to its last whole packet."""
    result = Probe()
    with av.open(str(path)) as container:
        infos = {s.index: StreamInfo(s.index, s.type, s.codec_context.name) for s in container.streams}
        result.streams = list(infos.values())
        try:
            for packet in container.demux():
                if packet.pts is None or packet.size == 0:
                    continue
                info = infos[packet.stream.index]
                seconds = float(packet.pts * packet.time_base)
                if info.first is None:
                    info.first, info.first_is_keyframe = seconds, packet.is_keyframe
                elif info.last is not None and seconds <= info.last:  # set with first
                    info.increasing = False
                info.last = seconds
                info.packets += 1
                info.keyframes += packet.is_keyframe
        except av.error.InvalidDataError:
            pass  # a torn last cluster: what came before it stands
    return result


def decode_errors(path: Path | str) -> list[str]:
    """Decode every frame of PATH; the errors met (empty when the whole file plays)."""
    errors = []
    with av.open(str(path)) as container:
        for stream in container.streams:
            stream.codec_context.options = {}
        try:
            for packet in container.demux():
                try:
                    packet.decode()
                except av.error.FFmpegError as exc:
                    errors.append(f"stream {packet.stream.index} at {packet.pts}: {exc}")
        except av.error.FFmpegError as exc:
            errors.append(f"demux: {exc}")
    return errors
