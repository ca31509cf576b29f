"""Signing in and out: throttled per client, accounts locked after repeated failures, every sign-in revocable."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vreception import audit
from vreception.auth.passwords import check_password
from vreception.clock import now
from vreception.errors import BadCredentials, DomainError, Unauthenticated
from vreception.models import Person, SignIn


class AccountLocked(DomainError):
    """The password was right, but the account is locked after repeated failures (423 account_locked)."""

    code = "account_locked"
    status = 423


class TooManyAttempts(DomainError):
    """Too many failed sign-ins from this client lately (429 rate_limited)."""

    code = "rate_limited"
    status = 429


class Attempts(Protocol):
    """Attempts counted per key in a window (vreception.ratelimit)."""

    def attempt(self, key: str) -> bool: ...

    def forgive(self, key: str) -> None: ...


def sign_in(*, db: Session, username: str, password: str, via: str, client: str, ttl: timedelta,
            attempts: Attempts, lock_after: int) -> tuple[Person, SignIn]:
    """The person and a new open sign-in, or BadCredentials / AccountLocked / TooManyAttempts (each audited)."""
    key = f"login:{client}"
    if not attempts.attempt(key):
        audit.record(db=db, action="auth.throttled", entity_type="client", entity_id=client[:64],
                     data={"username": username[:64], "via": via})
        raise TooManyAttempts("error.rate_limited")
    name = (username or "").strip().lower()
    person = db.scalars(select(Person).where(Person.username == name).with_for_update()).first()
    if person is None or not person.active or not check_password(password or "", person.password_hash):
        record_failure(person, name, db=db, via=via, client=client, lock_after=lock_after)
        raise BadCredentials()
    attempts.forgive(key)
    if person.locked_at is not None:
        # Told only to whoever knows the password: a wrong one never reveals that the account exists.
        audit.record(db=db, action="auth.refused_locked", entity_type="person", entity_id=person.id,
                     actor_id=person.id, data={"via": via, "client": client[:64]})
        raise AccountLocked("error.account_locked")
    person.failed_logins = 0
    return person, open_for(person, db=db, via=via, client=client, ttl=ttl)


def open_for(person: Person, *, db: Session, via: str, client: str, ttl: timedelta) -> SignIn:
    """A new open sign-in of PERSON (after a right password), audited; its id is the token's jti."""
    opened = SignIn(id=secrets.token_hex(16), person_id=person.id, via=via, client=client[:64],
                    created_at=now(), expires_at=now() + ttl, revoked_reason="")
    db.add(opened)
    db.flush()
    audit.record(db=db, action="auth.login", entity_type="person", entity_id=person.id, actor_id=person.id,
                 data={"via": via, "sign_in": opened.id})
    return opened


def record_failure(person: Person | None, name: str, *, db: Session, via: str, client: str, lock_after: int) -> None:
    """A wrong password for NAME: audited, counted against the account, which locks at LOCK_AFTER in a row."""
    audit.record(db=db, action="auth.failed", entity_type="person", entity_id=person.id if person else name[:64],
                 data={"username": name[:64], "via": via, "client": client[:64]})
    if person is None or not person.active:
        return
    person.failed_logins += 1
    if person.failed_logins >= lock_after and person.locked_at is None:
        person.locked_at = now()
        audit.record(db=db, action="auth.locked", entity_type="person", entity_id=person.id,
                     data={"failed_logins": person.failed_logins})
        revoke_all(db=db, person_id=person.id, reason="locked")


def open_sign_in(sign_in_id: str | None, person_id: int, *, db: Session) -> SignIn:
    """The sign-in a token names, if it is still open; Unauthenticated otherwise."""
    opened = db.get(SignIn, sign_in_id) if sign_in_id else None
    if opened is None or opened.person_id != person_id or opened.revoked_at is not None:
        raise Unauthenticated("error.token_invalid")
    if opened.expires_at <= now():
        raise Unauthenticated("error.token_expired")
    return opened


def sign_out(*, db: Session, sign_in_id: str, actor_id: int | None) -> None:
    """Close one sign-in (logout)."""
    opened = db.get(SignIn, sign_in_id)
    if opened is not None and opened.revoked_at is None:
        opened.revoked_at, opened.revoked_reason = now(), "logout"
        audit.record(db=db, action="auth.logout", entity_type="person", entity_id=opened.person_id,
                     actor_id=actor_id, data={"sign_in": opened.id})


def revoke_all(*, db: Session, person_id: int, reason: str, actor_id: int | None = None) -> int:
    """Close every open sign-in of a person (password changed, deactivated, locked); how many were open."""
    moment: datetime = now()
    result = db.execute(update(SignIn).where(SignIn.person_id == person_id, SignIn.revoked_at.is_(None))
                        .values(revoked_at=moment, revoked_reason=reason))
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        audit.record(db=db, action="auth.revoked", entity_type="person", entity_id=person_id, actor_id=actor_id,
                     data={"reason": reason, "sign_ins": count})
    return count


def unlock(*, db: Session, person: Person, actor_id: int | None) -> None:
    """Unlock an account locked after failures (an administrator's act, audited)."""
    person.locked_at, person.failed_logins = None, 0
    audit.record(db=db, action="auth.unlocked", entity_type="person", entity_id=person.id, actor_id=actor_id)
