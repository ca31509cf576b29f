"""Password hashing with argon2."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Hashing a dummy on unknown usernames keeps sign-in time from telling which names exist.
_DUMMY = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """An argon2id hash of PASSWORD."""
    return _hasher.hash(password)


def check_password(password: str, password_hash: str | None) -> bool:
    """Whether PASSWORD matches the hash (always spends the same work)."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
