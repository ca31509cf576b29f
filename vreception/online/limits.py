"""The counters that bound SMS codes per phone number and per client address (vreception.ratelimit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vreception.cases.public import Failures
from vreception.ratelimit import make_failures

WINDOW_S = 3600
SENDS_PER_NUMBER = 5  # codes to one phone in an hour
SENDS_PER_CLIENT = 20  # codes asked from one address in an hour
FORMS_PER_CLIENT = 10  # online petitions (网上信访) from one address in an hour


@dataclass(frozen=True)
class OnlineLimits:
    """Per phone number and per client: codes sent, and petitions submitted."""

    per_number: Failures
    per_client: Failures
    forms_per_client: Failures


def build(redis_url: str | None) -> OnlineLimits:
    """Redis-backed counters when Redis is configured (shared by every process), in-process otherwise."""
    return OnlineLimits(per_number=make_failures(redis_url, SENDS_PER_NUMBER, WINDOW_S),
                        per_client=make_failures(redis_url, SENDS_PER_CLIENT, WINDOW_S),
                        forms_per_client=make_failures(redis_url, FORMS_PER_CLIENT, WINDOW_S))


def of_app(state: Any, redis_url: str | None) -> OnlineLimits:
    """The app's counters, built on first use and kept on its state (one set per app)."""
    limits = getattr(state, "online_limits", None)
    if limits is None:
        limits = state.online_limits = build(redis_url)
    return limits
