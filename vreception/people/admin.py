"""An administrator's acts on accounts: create, edit, roles, password reset, lock, sign-in revocation; each audited."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from vreception import audit, people
from vreception.auth import password_policy, signins
from vreception.auth.passwords import hash_password
from vreception.clock import now
from vreception.errors import Conflict, NotFound
from vreception.models import Node, Person, Role, RoleAssignment, SignIn
from vreception.org import clean_name

# No 0/O, 1/l/I: a temporary password is read out over the telephone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def temporary_password() -> str:
    """A random password of three groups of four (about 69 bits), which the policy accepts."""
    while True:
        groups = ["".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3)]
        candidate = "-".join(groups)
        if password_policy.weakness(candidate, username=None) is None:
            return candidate


def create_account(*, db: Session, name: str, node_id: int, username: str, title: str = "",
                   role: str | None = None, role_node_id: int | None = None, room_id: int | None = None,
                   actor_id: int | None) -> tuple[Person, str]:
    """A person who can sign in, with an optional first role; their temporary password (changed at first sign-in)."""
    password = temporary_password()
    person = people.create_person(db=db, name=name, title=title, node_id=node_id, username=username,
                                  password=password, actor_id=actor_id)
    person.must_change_password = True
    if role:
        people.assign_role(db=db, person=person, role=role, node_id=role_node_id, room_id=room_id, actor_id=actor_id)
    return person, password


def edit_person(*, db: Session, person: Person, name: str, title: str, node_id: int,
                actor_id: int | None) -> Person:
    """Change a person's name, title and node; audited with what changed."""
    if db.get(Node, node_id) is None:
        raise NotFound("error.node_not_found", field="node_id", id=node_id)
    changed: dict[str, object] = {}
    new = {"name": clean_name(name), "title": (title or "").strip()[:200], "node_id": node_id}
    for field, value in new.items():
        if getattr(person, field) != value:
            changed[field] = {"from": getattr(person, field), "to": value}
            setattr(person, field, value)
    if changed:
        db.flush()
        db.refresh(person, ["node"])
        audit.record(db=db, action="person.edited", entity_type="person", entity_id=person.id, actor_id=actor_id,
                     data=changed)
    return person


def add_role(*, db: Session, person: Person, role: str, node_id: int | None, room_id: int | None,
             actor_id: int | None) -> RoleAssignment:
    """Give PERSON a role over a node subtree (a room's kiosk role names its room); audited."""
    return people.assign_role(db=db, person=person, role=role, node_id=node_id, room_id=room_id, actor_id=actor_id)


def remove_role(*, db: Session, person: Person, assignment_id: int, actor_id: int | None) -> None:
    """Take one role assignment from PERSON; an administrator keeps their own admin role (no locking oneself out)."""
    assignment = next((a for a in person.roles if a.id == assignment_id), None)
    if assignment is None:
        raise NotFound("error.assignment_not_found", id=assignment_id)
    if actor_id == person.id and assignment.role is Role.admin:
        raise Conflict("error.remove_own_admin")
    person.roles.remove(assignment)
    db.flush()
    audit.record(db=db, action="role.removed", entity_type="person", entity_id=person.id, actor_id=actor_id,
                 data={"role": assignment.role.value, "node_id": assignment.node_id, "room_id": assignment.room_id})
    # A narrower account must not keep sessions opened with the wider one.
    signins.revoke_all(db=db, person_id=person.id, reason="role_removed", actor_id=actor_id)


def _account(person: Person, actor_id: int | None) -> None:
    if person.username is None:
        raise Conflict("error.no_account")
    if actor_id is not None and actor_id == person.id:
        raise Conflict("error.own_account")


def reset_password(*, db: Session, person: Person, actor_id: int | None) -> str:
    """A new temporary password for PERSON, to be changed at the next sign-in; every sign-in ends, the lock lifts."""
    _account(person, actor_id)
    password = temporary_password()
    was_locked = person.locked_at is not None
    person.password_hash = hash_password(password)
    person.must_change_password = True
    person.failed_logins, person.locked_at = 0, None
    audit.record(db=db, action="auth.password_reset", entity_type="person", entity_id=person.id, actor_id=actor_id,
                 data={"unlocked": was_locked})
    signins.revoke_all(db=db, person_id=person.id, reason="password_reset", actor_id=actor_id)
    return password


def lock(*, db: Session, person: Person, actor_id: int | None) -> int:
    """Lock PERSON's account until unlocked and end every sign-in; how many were open."""
    _account(person, actor_id)
    if person.locked_at is not None:
        raise Conflict("error.already_locked")
    person.locked_at = now()
    audit.record(db=db, action="auth.locked_by_admin", entity_type="person", entity_id=person.id, actor_id=actor_id)
    return signins.revoke_all(db=db, person_id=person.id, reason="locked", actor_id=actor_id)


def revoke_sign_in(*, db: Session, sign_in: SignIn, actor_id: int | None) -> None:
    """End one open sign-in (a page session or an API token) of someone else; audited."""
    if sign_in.revoked_at is not None or sign_in.expires_at <= now():
        raise Conflict("error.sign_in_closed")
    sign_in.revoked_at, sign_in.revoked_reason = now(), "revoked"
    audit.record(db=db, action="auth.sign_in_revoked", entity_type="person", entity_id=sign_in.person_id,
                 actor_id=actor_id, data={"sign_in": sign_in.id, "via": sign_in.via})
