"""The per-socket token bucket, driven by an injected clock."""

from __future__ import annotations

import pytest

from signaling.errors import ProtocolError
from signaling.ratelimit import CLOSE_AFTER_DENIALS, DEFAULT_BURST, DEFAULT_RATE, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_burst_then_refusal():
    clock = Clock()
    bucket = TokenBucket(clock=clock)
    assert (DEFAULT_RATE, DEFAULT_BURST) == (20.0, 40)
    assert all(bucket.allow() for _ in range(40))
    assert not bucket.allow()
    assert bucket.retry_after() == pytest.approx(1 / 20)


def test_refills_at_the_rate_and_caps_at_the_burst():
    clock = Clock()
    bucket = TokenBucket(rate=20, burst=40, clock=clock)
    for _ in range(40):
        bucket.allow()
    clock.t += 0.5
    assert bucket.tokens == pytest.approx(10)
    assert sum(bucket.allow() for _ in range(20)) == 10
    clock.t += 3600
    assert bucket.tokens == 40


def test_sustained_rate_is_allowed_indefinitely():
    clock = Clock()
    bucket = TokenBucket(rate=20, burst=40, clock=clock)
    allowed = 0
    for _ in range(2000):  # 100 s at 20/s, with the burst already spent
        clock.t += 0.05
        allowed += bucket.allow()
    assert allowed == 2000


def test_faster_than_the_rate_is_throttled_to_it():
    clock = Clock()
    bucket = TokenBucket(rate=20, burst=40, clock=clock)
    allowed = 0
    for _ in range(1000):  # 10 s at 100/s
        clock.t += 0.01
        allowed += bucket.allow()
    assert allowed == pytest.approx(40 + 20 * 10, abs=2)


def test_take_raises_rate_limited_and_counts_denials():
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)
    bucket.take()
    bucket.take()
    for _ in range(CLOSE_AFTER_DENIALS):
        assert not bucket.should_close()
        with pytest.raises(ProtocolError) as caught:
            bucket.take()
        assert caught.value.code == "rate_limited" and "retry in" in caught.value.detail
    assert bucket.should_close()
    clock.t += 1
    bucket.take()
    assert bucket.denials_in_row == 0 and not bucket.should_close()


def test_a_clock_going_backwards_mints_nothing():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=1, clock=clock)
    assert bucket.allow()
    clock.t -= 100
    assert not bucket.allow()
    clock.t += 100.05
    assert not bucket.allow()
    clock.t += 0.06
    assert bucket.allow()


def test_cost_above_one():
    bucket = TokenBucket(rate=1, burst=5, clock=Clock())
    assert bucket.allow(5)
    assert not bucket.allow(0.5)


@pytest.mark.parametrize(("rate", "burst"), [(0, 10), (-1, 10), (1, 0)])
def test_nonsense_settings_are_refused(rate, burst):
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, burst=burst)
