"""Who may read a notice is the matter's read rule, in vreception/cases/access.py (issue 10: it lived in web/)."""

from __future__ import annotations

import pytest

from tests.cases.helpers import travel
from tests.factories import act, register
from vreception.auth.access import principal_for
from vreception.cases import access
from vreception.errors import Forbidden, NotFound
from vreception.models import Person


def test_a_notice_is_read_by_the_matters_readers_only(client, org, db):
    travel(2026, 3, 2)
    matter, headers = register(client, org)
    document = act(client, headers, matter["id"], "accept")["documents"][0]
    with db.transaction() as session:
        reader = principal_for(session.get(Person, org.people["coord_county"].id))
        outsider = principal_for(session.get(Person, org.people["coord_county2"].id))
        found = access.load_readable_document(reader, document["id"], db=session)
        assert found.id == document["id"] and found.matter_id == matter["id"]
        with pytest.raises(Forbidden):
            access.load_readable_document(outsider, document["id"], db=session)
        with pytest.raises(NotFound):
            access.load_readable_document(reader, 10**9, db=session)
