"""Fixtures for the recording tests: a session with participants, storage, a SQLite-only database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from recordings.storage import LocalStorage
from tests.conftest import _migrated_database, reset
from vreception import clock
from vreception.models import Channel, Matter, MatterState
from vreception.models.scheduling import Participant, ReceptionSession, SessionKind, SessionState


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
    now = clock.now()
    with db.transaction() as session:
        matter_id = None
        if matter_state is not None:
            county = org.nodes["county"]
            matter = Matter(number=f"M-{now.timestamp()}", query_code_hash="0" * 64, origin_node_id=county.id,
                            handling_node_id=county.id, handling_path=county.path, channel=Channel.video,
                            state=matter_state, received_at=now)
            session.add(matter)
            session.flush()
            matter_id = matter.id
        reception = ReceptionSession(
            kind=SessionKind.reception, state=SessionState.live, leader_id=org.people["leader_county"].id,
            matter_id=matter_id, node_path=org.nodes["county"].path, starts_at=now, ends_at=now + timedelta(minutes=30),
        )
        session.add(reception)
        session.flush()
        participants = [Participant(session_id=reception.id, role=role, name=role) for role in roles]
        session.add_all(participants)
        session.flush()
        return reception.id, [p.id for p in participants]


def set_matter_state(db, session_id: int, state: MatterState) -> None:
    """Move the matter of SESSION_ID to STATE."""
    with db.transaction() as session:
        reception = session.get(ReceptionSession, session_id)
        session.get(Matter, reception.matter_id).state = state
