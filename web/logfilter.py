"""Secrets never reach the logs: join and feed tokens and query codes are cut out of logged URLs."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

import uvicorn.config

# Join tokens (/ws/sessions/…?token=), calendar feed tokens (…ics?token=) and the petitioner's query code.
_SECRET_PARAMS = re.compile(r"((?:^|[?&;])(?:token|code|access_token)=)[^&\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """TEXT with the values of secret query parameters replaced by ***."""
    return _SECRET_PARAMS.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts secret query parameters in the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def _with_redaction() -> dict[str, Any]:
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "web.logfilter.RedactSecrets"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    return config


# uvicorn's own logging configuration, with every handler redacting.
ACCESS_LOG_CONFIG = _with_redaction()
