"""Fixtures for the recording tests: a session with participants, storage, a SQLite-only database."""

from __future__ import annotations

import pytest

from recordings.storage import LocalStorage
from tests.conftest import _migrated_database, reset
from tests.factories import matter_row, session_row
from vreception import clock
from vreception.models import Matter, MatterState
from vreception.models.scheduling import ReceptionSession


@pytest.fixture
def sqlite_db(_migrated, tmp_path_factory, request):
    """The migrated SQLite test database, emptied (media tests run once, not once per backend)."""
    database = _migrated_database("sqlite", _migrated, tmp_path_factory, request)
    reset(database)
    yield database
    clock.reset()


@pytest.fixture
def local_storage(tmp_path) -> LocalStorage:
    """Recording files under a temporary directory."""
    return LocalStorage(tmp_path / "recordings")


def make_session(db, org, roles=("leader", "room"), matter_state: MatterState | None = None) -> tuple[int, list[int]]:
    """A live reception session of ORG's county leader with one participant per role; (session id, participant ids)."""
    with db.transaction() as session:
        county = org.nodes["county"]
        matter = matter_row(session, origin=county, handling=county, state=matter_state) if matter_state is not None else None
        reception = session_row(session, org, starts_at=clock.now(), state="live", roles=roles,
                                matter_id=matter.id if matter else None)
        return reception.id, [p.id for p in reception.participants]


def set_matter_state(db, session_id: int, state: MatterState) -> None:
    """Move the matter of SESSION_ID to STATE."""
    with db.transaction() as session:
        reception = session.get(ReceptionSession, session_id)
        session.get(Matter, reception.matter_id).state = state
