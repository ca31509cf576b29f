"""Read models of people, their roles and their open sign-ins, for the administration API and pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vreception.models import Person, RoleAssignment, SignIn


class AssignmentOut(BaseModel):
    """One role of a person over a node subtree (and, for a room's kiosk account, its room)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    role: str
    node_id: int
    node_name: str
    room_id: int | None = None


class PersonRow(BaseModel):
    """A person in the administrators' list."""

    id: int
    name: str
    title: str
    username: str | None
    node_id: int
    node_name: str
    roles: list[str]
    active: bool
    locked: bool = Field(description="locked after repeated wrong passwords or by an administrator")
    must_change_password: bool = Field(description="a reset password waits to be changed at the next sign-in")


class PersonDetail(PersonRow):
    """A person with their role assignments, for the edit page."""

    assignments: list[AssignmentOut]
    created_at: datetime
    failed_logins: int


class SignInRow(BaseModel):
    """An open sign-in: a page session or an API token that is neither revoked nor expired."""

    id: str
    person_id: int
    person_name: str
    username: str | None
    via: str
    client: str
    created_at: datetime
    expires_at: datetime


class TemporaryPasswordOut(BaseModel):
    """A reset or new account's temporary password: shown this once, to be changed at the next sign-in."""

    person_id: int
    username: str | None
    temporary_password: str
    must_change_password: bool = True


def assignment_out(assignment: RoleAssignment) -> AssignmentOut:
    return AssignmentOut(id=assignment.id, role=assignment.role.value, node_id=assignment.node_id,
                         node_name=assignment.node.name, room_id=assignment.room_id)


def person_row(person: Person) -> PersonRow:
    return PersonRow(id=person.id, name=person.name, title=person.title, username=person.username,
                     node_id=person.node_id, node_name=person.node.name, roles=person.role_names,
                     active=person.active, locked=person.locked_at is not None,
                     must_change_password=person.must_change_password)


def person_detail(person: Person) -> PersonDetail:
    assignments = sorted(person.roles, key=lambda a: a.id)
    return PersonDetail(**person_row(person).model_dump(), assignments=[assignment_out(a) for a in assignments],
                        created_at=person.created_at, failed_logins=person.failed_logins)


def sign_in_row(row: tuple[SignIn, Person]) -> SignInRow:
    opened, person = row
    return SignInRow(id=opened.id, person_id=person.id, person_name=person.name, username=person.username,
                     via=opened.via, client=opened.client, created_at=opened.created_at,
                     expires_at=opened.expires_at)
