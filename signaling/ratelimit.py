"""A token bucket per socket: pure arithmetic over an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from signaling.errors import ProtocolError

DEFAULT_RATE = 20.0  # messages per second, sustained
DEFAULT_BURST = 40  # an ICE candidate trickle arrives in bursts
CLOSE_AFTER_DENIALS = 40  # denials in a row before the endpoint should close with 4429


class TokenBucket:
    """Allows RATE messages per second on average and BURST at once."""

    def __init__(self, rate: float = DEFAULT_RATE, burst: float = DEFAULT_BURST, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self.denials_in_row = 0

    def _refill(self) -> None:
        now = self._clock()
        # A clock that goes backwards must not mint tokens or take them away.
        elapsed = max(0.0, now - self._stamp)
        self._stamp = max(self._stamp, now)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)

    @property
    def tokens(self) -> float:
        """Tokens available now."""
        self._refill()
        return self._tokens

    def allow(self, cost: float = 1.0) -> bool:
        """Take COST tokens if there are enough; False (and nothing taken) otherwise."""
        self._refill()
        if self._tokens >= cost:
            self._tokens -= cost
            self.denials_in_row = 0
            return True
        self.denials_in_row += 1
        return False

    def take(self, cost: float = 1.0) -> None:
        """Like allow(), but ProtocolError `rate_limited` when there are not enough tokens."""
        if not self.allow(cost):
            raise ProtocolError("rate_limited", f"too many messages; retry in {self.retry_after(cost):.2f} s")

    def retry_after(self, cost: float = 1.0) -> float:
        """Seconds until COST tokens will be available."""
        self._refill()
        return max(0.0, (cost - self._tokens) / self.rate)

    def should_close(self) -> bool:
        """Whether the sender ignored enough `rate_limited` errors to be disconnected (4429)."""
        return self.denials_in_row >= CLOSE_AFTER_DENIALS
