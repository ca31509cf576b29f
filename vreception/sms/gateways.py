"""The gateway interface, its errors, and the HTTPS JSON adapter."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from typing import Protocol

from vreception.sms.receipts import Receipt


class GatewayError(Exception):
    """A message the gateway did not take."""


class RetryableError(GatewayError):
    """Try again later (throttled, 5xx, a timeout): counts as an attempt."""


class GatewayUnavailable(RetryableError):
    """The gateway could not be reached at all: nothing was handed over, so no attempt is counted."""


class PermanentError(GatewayError):
    """The gateway refused the message for good (bad number, refused content, 4xx)."""


class Gateway(Protocol):
    """Sends text messages; open() before a batch, close() after it."""

    name: str

    def open(self) -> None:
        """Connect (GatewayUnavailable when the gateway cannot be reached)."""

    def send(self, phone: str, text: str, *, reference: str) -> str:
        """Hand one message over; its gateway message id, or a GatewayError."""

    def receipts(self) -> list[Receipt]:
        """The delivery receipts the gateway reported since open()."""

    def close(self) -> None:
        """Disconnect; never raises."""


class HttpGateway:
    """A cloud SMS service behind HTTPS: POST {phone, text, reference} with a bearer token, 2xx → {"id": …}."""

    name = "http"

    def __init__(self, url: str, token: str, timeout: float = 10):
        self.url, self.token, self.timeout = url, token, timeout

    def open(self) -> None:
        return None

    def send(self, phone: str, text: str, *, reference: str) -> str:
        body = json.dumps({"phone": phone, "text": text, "reference": reference}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.token}",
            # A service that honours it drops a repeat of the same message (a retry after a lost answer).
            "Idempotency-Key": reference})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            detail = f"HTTP {error.code}"
            if error.code >= 500 or error.code in (408, 429):
                raise RetryableError(detail) from None
            raise PermanentError(detail) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionRefusedError | socket.gaierror):
                raise GatewayUnavailable(str(error.reason)) from None
            raise RetryableError(str(error.reason)) from None
        except (TimeoutError, ConnectionError) as error:
            raise RetryableError(f"{type(error).__name__}: {error}") from None
        except ValueError:
            raise RetryableError("answer is not JSON") from None
        ident = answer.get("id") or answer.get("message_id") if isinstance(answer, dict) else None
        if not ident:
            raise RetryableError("answer without an id")
        return str(ident)[:100]

    def receipts(self) -> list[Receipt]:
        return []  # the HTTPS service reports no delivery

    def close(self) -> None:
        return None
