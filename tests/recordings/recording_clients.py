"""Client peers for the recording tests: they count what they send and change colour and sound at one instant."""

from __future__ import annotations

import array
import time
from dataclasses import dataclass

import av

from tests.recordings.media_clients import COLOURS, Client, ColourTrack, ToneTrack, centre_yuv, close_to


class FlipColourTrack(ColourTrack):
    """A camera that films one colour, then another from the wall-clock instant flip_at; counts its frames."""

    def __init__(self, before: str, after: str) -> None:
        super().__init__(COLOURS[before])
        self.after = COLOURS[after]
        self.flip_at: float | None = None
        self.sent = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        # The frames' own media time (pts): what a recording must reproduce, whatever the wall clock did.
        self.first_media: float | None = None
        self.last_media: float | None = None

    async def recv(self) -> av.VideoFrame:
        frame = await super().recv()
        now = time.time()
        media = float(frame.pts * frame.time_base)
        self.first_media = media if self.first_media is None else self.first_media
        self.last_media = media
        if self.flip_at is not None and now >= self.flip_at:
            for plane, value in zip(frame.planes, self.after, strict=True):
                plane.update(bytes([value]) * plane.buffer_size)
        self.sent += 1
        self.first_at = self.first_at or now
        self.last_at = now
        return frame


class FlipToneTrack(ToneTrack):
    """A microphone hearing silence, then a tone from the wall-clock instant flip_at; counts its frames."""

    def __init__(self, amplitude: int) -> None:
        super().__init__(amplitude)
        self._tone = self._pcm
        self._silence = bytes(len(self._pcm))
        self._pcm = self._silence
        self.flip_at: float | None = None
        self.sent = 0
        self.first_at: float | None = None
        self.last_at: float | None = None

    async def recv(self) -> av.AudioFrame:
        self._pcm = self._tone if self.flip_at is not None and time.time() >= self.flip_at else self._silence
        frame = await super().recv()
        now = time.time()
        self.sent += 1
        self.first_at = self.first_at or now
        self.last_at = now
        return frame


@dataclass(eq=False)
class RecordedClient(Client):
    """A Client whose tracks flip together and count frames."""

    def __post_init__(self) -> None:
        from aiortc import RTCPeerConnection

        from recordings import ice

        self.pc = RTCPeerConnection(ice.rtc_configuration([]))
        self.audio = FlipToneTrack(self.amplitude)
        self.video = FlipColourTrack(self.colour, "blue" if self.colour != "blue" else "green")
        self.pc.addTrack(self.audio)
        self.pc.addTrack(self.video)
        self.pc.on("track", self._on_track)

    def flip(self, at: float) -> None:
        """Change colour and start the tone at wall-clock AT."""
        self.audio.flip_at = self.video.flip_at = at

    def stop_sending(self) -> None:
        """End both local tracks (their senders stop)."""
        self.audio.stop()
        self.video.stop()


def add_recorded_client(hub, clients: dict, name: str, colour: str, amplitude: int) -> RecordedClient:
    """Register a RecordedClient of HUB."""
    clients[name] = RecordedClient(name, colour, amplitude, hub)
    return clients[name]


def flip_times(path, video_index: int, audio_index: int, colour_after: tuple[int, int, int], level: int) -> tuple[float, float]:
    """Seconds at which the video first shows COLOUR_AFTER and the audio first exceeds LEVEL, decoding PATH."""
    video_at = audio_at = None
    with av.open(str(path)) as container:
        streams = [container.streams[video_index], container.streams[audio_index]]
        for packet in container.demux(streams):
            for frame in packet.decode():
                t = float(frame.pts * frame.time_base)
                if isinstance(frame, av.VideoFrame) and video_at is None:
                    yuv = centre_yuv(frame)
                    if all(abs(a - b) <= 24 for a, b in zip(yuv, colour_after, strict=True)):
                        video_at = t
                elif isinstance(frame, av.AudioFrame) and audio_at is None:
                    samples = array.array("f", bytes(frame.planes[0]))  # Opus decodes to planar float
                    if samples and max(abs(s) for s in samples) * 32768 > level:
                        audio_at = t
            if video_at is not None and audio_at is not None:
                break
    assert video_at is not None and audio_at is not None, (video_at, audio_at)
    return video_at, audio_at


__all__ = ["RecordedClient", "add_recorded_client", "close_to", "flip_times"]
