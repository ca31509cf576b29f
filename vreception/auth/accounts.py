"""An account's own password, and an administrator's deactivation: each ends every sign-in of the person."""

from __future__ import annotations

from sqlalchemy.orm import Session

from vreception import audit
from vreception.auth import password_policy, signins
from vreception.auth.passwords import check_password, hash_password
from vreception.errors import Conflict, Invalid, NotFound
from vreception.models import Person


class WrongPassword(Invalid):
    """The current password given with a password change is wrong (422 password_wrong); counts as a failure."""

    code = "password_wrong"


def change_password(*, db: Session, person_id: int, current: str, new: str, client: str, lock_after: int) -> Person:
    """Set the signed-in person's own password after checking the current one; every sign-in of theirs is ended."""
    person = db.get(Person, person_id)
    if person is None:
        raise NotFound("error.person_not_found", id=person_id)
    if not check_password(current or "", person.password_hash):
        # A stolen cookie must not become a way to guess the password: wrong answers lock the account too.
        signins.record_failure(person, person.username or "", db=db, via="password", client=client,
                               lock_after=lock_after)
        raise WrongPassword("error.password_wrong", field="current_password")
    password_policy.check(new, username=person.username, field="new_password")
    if check_password(new, person.password_hash):
        raise Invalid("error.password_unchanged", field="new_password")
    person.password_hash = hash_password(new)
    person.failed_logins = 0
    person.must_change_password = False
    audit.record(db=db, action="auth.password_changed", entity_type="person", entity_id=person.id,
                 actor_id=person.id, data={"client": client[:64]})
    signins.revoke_all(db=db, person_id=person.id, reason="password_changed", actor_id=person.id)
    return person


def deactivate(*, db: Session, person: Person, actor_id: int | None) -> int:
    """Stop PERSON from signing in and end every sign-in (pages, API tokens, calendar feeds); how many were open."""
    if actor_id is not None and actor_id == person.id:
        raise Conflict("error.deactivate_self")
    if person.active:
        person.active = False
        audit.record(db=db, action="person.deactivated", entity_type="person", entity_id=person.id, actor_id=actor_id)
    return signins.revoke_all(db=db, person_id=person.id, reason="deactivated", actor_id=actor_id)


def reactivate(*, db: Session, person: Person, actor_id: int | None) -> None:
    """Let a deactivated PERSON sign in again (their old sign-ins stay ended)."""
    if not person.active:
        person.active = True
        audit.record(db=db, action="person.reactivated", entity_type="person", entity_id=person.id, actor_id=actor_id)
