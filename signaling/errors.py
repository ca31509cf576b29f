"""The typed protocol error and its stable machine codes."""

from __future__ import annotations

from typing import Literal, get_args

ErrorCode = Literal["malformed", "unknown_type", "invalid", "too_large", "rate_limited", "forbidden", "illegal_state"]
ERROR_CODES: tuple[str, ...] = get_args(ErrorCode)


class ProtocolError(Exception):
    """A message or action the server refuses; becomes an `error` message to the sender."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code: ErrorCode = code
        self.detail = detail
