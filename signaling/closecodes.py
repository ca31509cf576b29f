"""WebSocket close codes the signaling endpoint uses (4xxx mirror HTTP statuses)."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """Why the server closed a signaling socket."""

    NORMAL = 1000  # after a `bye`: left, ended, refused
    TOO_LARGE = 1009  # a frame above the transport's own limit
    PROTOCOL = 4400  # too many malformed or invalid messages in a row
    BAD_TOKEN = 4401  # join token missing, bad or expired
    WRONG_SESSION = 4403  # token for another session, or participant refused
    REPLACED = 4409  # the same participant connected again elsewhere
    NOT_JOINABLE = 4410  # session ended, cancelled or no-show
    RATE_LIMITED = 4429  # kept sending after `rate_limited` errors
    UNAVAILABLE = 4503  # the shared call state (Redis) does not answer: try again shortly
