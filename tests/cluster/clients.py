"""aiortc participants that start their media afresh whenever the server says `admitted` (as the call page does)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tests.calls.helpers import SignalingClient


@dataclass
class FailoverClient(SignalingClient):
    """A participant that notes when each remote video frame arrives (monotonic clock)."""

    video_at: list[float] = field(default_factory=list)
    offers: int = 0

    async def _offer(self) -> None:
        # call.js startMedia(): the old peer connection goes, a new one offers (the new worker answers it)
        old, self.pc = self.pc, None
        if old is not None:
            await old.close()
        self.offers += 1
        await super()._offer()

    def _on_track(self, track) -> None:
        if track.kind == "video":
            self._consume(track, lambda frame: self.video_at.append(time.monotonic()))

    def frames_since(self, since: float) -> int:
        """Video frames received after SINCE."""
        return sum(1 for at in self.video_at if at > since)

    def first_frame_after(self, since: float) -> float | None:
        """When the first video frame after SINCE arrived."""
        return next((at for at in self.video_at if at > since), None)
