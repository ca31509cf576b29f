"""One segment file of one participant: encoded audio and video muxed as they arrive, never decoded."""

from __future__ import annotations

import fractions
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av

MS = fractions.Fraction(1, 1000)
# Codecs as the hub names them (MIME subtype, lower case) -> FFmpeg codec names.
FFMPEG_CODECS = {"vp8": "vp8", "h264": "h264", "opus": "opus"}
WEBM_CODECS = {"vp8", "opus"}
# A frame placed up to this much before the file's start is written at its start, not dropped.
LATE_MS = 500

# What a participant's track captures: their camera and microphone, or a screen (or window) they share. A shared
# screen is forwarded and recorded as a video track of its own.
Capture = Literal["camera", "screen"]
CAMERA: Capture = "camera"
SCREEN: Capture = "screen"


def codec_name(mime: str) -> str:
    """FFmpeg's name for a MIME type such as 'video/VP8' (ValueError when we cannot record it)."""
    subtype = mime.split("/")[-1].lower()
    if subtype not in FFMPEG_CODECS:
        raise ValueError(f"cannot record {mime!r}: only VP8, H.264 and Opus")
    return FFMPEG_CODECS[subtype]


def container_for(codecs: set[str]) -> tuple[str, str]:
    """(FFmpeg format, file extension): WebM when every codec is WebM's, Matroska otherwise."""
    return ("webm", "webm") if codecs <= WEBM_CODECS else ("matroska", "mkv")


def segment_key(prefix: str, participant: str, capture: Capture, index: int, extension: str) -> str:
    """The storage key of a segment: `p{participant}/seg-…` for the camera, `p{participant}/screen-…` for a shared
    screen (the key is hashed and audited, so a segment's capture is always read back from it)."""
    name = "seg" if capture == CAMERA else capture
    return f"{prefix}/p{participant}/{name}-{index:05d}.{extension}"


def capture_of_key(key: str) -> Capture:
    """What the segment stored under KEY captured (see segment_key)."""
    return SCREEN if key.rsplit("/", 1)[-1].startswith(f"{SCREEN}-") else CAMERA


def vp8_dimensions(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 key frame header (RFC 6386 9.1), None when not one."""
    if len(data) < 10 or data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":
        return None
    return int.from_bytes(data[6:8], "little") & 0x3FFF, int.from_bytes(data[8:10], "little") & 0x3FFF


@dataclass
class StreamState:
    """Per-stream bookkeeping inside one segment."""

    stream: av.stream.Stream
    last_ms: int = -1
    packets: int = 0
    adjusted: int = 0  # timestamps nudged forward to stay strictly increasing


@dataclass
class SegmentFile:
    """An open segment: a WebM/Matroska file whose clusters reach the disk as they close."""

    path: Path
    origin: float  # wall-clock time (time.time()) of the file's timestamp 0
    codecs: dict[str, str]  # kind -> FFmpeg codec name
    cluster_ms: int = 500
    width: int = 640
    height: int = 480
    streams: dict[str, StreamState] = field(default_factory=dict)
    last_time: float = 0.0  # wall-clock time of the latest packet written
    bytes_in: int = 0
    _container: av.container.OutputContainer | None = None

    def open(self) -> None:
        """Create the file and write its header."""
        format_name, _ = container_for(set(self.codecs.values()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # flush_packets + a short cluster limit: a killed process leaves every closed cluster readable
        self._container = av.open(
            str(self.path), "w", format=format_name,
            options={"flush_packets": "1", "cluster_time_limit": str(self.cluster_ms)},
        )
        for kind in ("video", "audio"):
            name = self.codecs.get(kind)
            if name is None:
                continue
            if kind == "video":
                stream = self._container.add_mux_stream(name, width=self.width, height=self.height)
            else:
                # an encoder context (never used to encode) makes PyAV write the OpusHead header
                stream = self._container.add_stream("libopus", rate=48000, layout="stereo")
            stream.time_base = MS
            self.streams[kind] = StreamState(stream)
        self.last_time = self.origin

    def write(self, kind: str, data: bytes, at: float, keyframe: bool) -> bool:
        """Mux one encoded frame at wall-clock time AT; False when it falls before the file's start."""
        state = self.streams[kind]
        ms = round((at - self.origin) * 1000)
        if ms < 0:
            if ms < -LATE_MS:
                return False
            ms = 0  # the track's clock estimate moved back a little since the file opened

        if ms <= state.last_ms:
            ms = state.last_ms + 1
            state.adjusted += 1
        packet = av.Packet(data)
        packet.pts = packet.dts = ms
        packet.time_base = MS
        packet.stream = state.stream
        packet.is_keyframe = keyframe
        assert self._container is not None, "write() before open()"
        self._container.mux(packet)
        state.last_ms = ms
        state.packets += 1
        self.bytes_in += len(data)
        self.last_time = max(self.last_time, at)
        return True

    @property
    def duration(self) -> float:
        """Seconds from the file's start to its latest packet."""
        return max(0.0, self.last_time - self.origin)

    def close(self) -> None:
        """Write the trailer (duration, cues) and close the file."""
        if self._container is not None:
            container, self._container = self._container, None
            container.close()
