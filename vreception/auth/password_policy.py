"""The password policy: every place that sets a password (create, change, reset, the CLI) checks it here."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from vreception.errors import Forbidden, Invalid

MIN_LENGTH = 10
MAX_LENGTH = 256
_COMMON = Path(__file__).with_name("common_passwords.txt")
MESSAGES = {"too_short": "error.weak_password.too_short", "too_long": "error.weak_password.too_long",
            "contains_username": "error.weak_password.contains_username", "common": "error.weak_password.common"}


class WeakPassword(Invalid):
    """A password the policy refuses (422 weak_password); the message says which rule it breaks."""

    code = "weak_password"

    def __init__(self, reason: str, *, field: str | None, **params: object) -> None:
        self.reason = reason  # too_short | too_long | contains_username | common
        super().__init__(MESSAGES.get(reason, "error.weak_password"), field=field, reason=reason, **params)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (one a line; # starts a comment)."""
    lines = _COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def weakness(password: str, *, username: str | None) -> str | None:
    """Which rule PASSWORD breaks, or None when the policy accepts it."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    name = (username or "").strip().lower()
    lowered = password.lower()
    if len(name) >= 3 and (name in lowered or name.replace(".", "") in lowered.replace(".", "")):
        return "contains_username"
    if lowered in common_passwords():
        return "common"
    return None


def check(password: str | None, *, username: str | None, field: str | None = "password") -> str:
    """PASSWORD if the policy accepts it; WeakPassword naming the broken rule otherwise."""
    reason = weakness(password or "", username=username)
    if reason is not None:
        raise WeakPassword(reason, field=field, min=MIN_LENGTH, max=MAX_LENGTH)
    return password or ""


class PasswordChangeRequired(Forbidden):
    """The account signed in with a temporary password and must change it first (403 password_change_required)."""

    code = "password_change_required"
