"""Signed, expiring tokens: API access tokens and (later) session join tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt

from vreception.clock import now
from vreception.errors import Unauthenticated

ALGORITHM = "HS256"


def issue(secret: str, *, subject: str, purpose: str, ttl: timedelta, **claims: Any) -> tuple[str, datetime]:
    """A token for SUBJECT and PURPOSE that expires after TTL; returns it and its expiry."""
    issued = now()
    expires = issued + ttl
    payload = {"sub": subject, "purpose": purpose, "iat": int(issued.timestamp()), "exp": int(expires.timestamp()), **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM), expires


def read(secret: str, token: str, *, purpose: str) -> dict[str, Any]:
    """The claims of a valid TOKEN for PURPOSE; Unauthenticated if bad, expired or for another purpose."""
    try:
        # Expiry is checked against our clock (which tests can move), not the wall clock.
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                     "require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise Unauthenticated("error.token_invalid") from exc
    if claims.get("purpose") != purpose:
        raise Unauthenticated("error.token_invalid")
    if claims["exp"] <= now().timestamp():
        raise Unauthenticated("error.token_expired")
    return claims
