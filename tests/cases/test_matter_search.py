"""Finding matters: each filter, the keyset pages, and the reader's subtree applied in SQL before the limit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.cases.matter_search_scene import FORMULA_NAME, build_search_scene
from tests.factories import extend_org, id_number
from vreception.auth.access import principal_for
from vreception.cases import search
from vreception.cases.identity import Protector
from vreception.errors import Forbidden, Invalid, NotFound
from vreception.models import Person, Petitioner


class NoDecrypting(Protector):
    """A protector that fails the test if a search decrypts anything (ID numbers are found by their keyed hash)."""

    def decrypt(self, token: str) -> str:
        raise AssertionError("a search decrypted personal data")


class CountingDecrypts(Protector):
    """A protector that counts what a search decrypts (a whole phone: only the candidates sharing its tail)."""

    decrypted = 0

    def decrypt(self, token: str) -> str:
        CountingDecrypts.decrypted += 1
        return super().decrypt(token)


@pytest.fixture
def scene(db, org, settings):
    extend_org(db, org)
    return build_search_scene(db, org, settings)


def find(db, org, settings, who="coord_county", limit=50, cursor=None, protector_class=NoDecrypting, **filters):
    protector = protector_class(settings.effective_secret_key())
    with db.transaction() as session:
        principal = principal_for(session.get(Person, org.people[who].id))
        found = search.search_matters(db=session, principal=principal, search=search.MatterSearch(**filters),
                                      protector=protector, limit=limit, cursor=cursor)
    return found


def ids(page) -> set[int]:
    return {item.id for item in page.items}


def test_each_filter_narrows_the_readers_matters(db, org, settings, scene):
    s = scene.ids
    assert ids(find(db, org, settings)) == set(scene.county_a)
    assert find(db, org, settings).total == len(scene.county_a)
    number = find(db, org, settings).items[0].number
    assert ids(find(db, org, settings, number=number)) == {find(db, org, settings).items[0].id}
    assert ids(find(db, org, settings, number=number[:7])) == set(scene.county_a)  # a prefix: the office's code
    assert ids(find(db, org, settings, name="张")) == {s["wages"]}  # 张三丰 is county B's
    assert ids(find(db, org, settings, name="HYPERLINK")) == {s["formula"]}
    assert ids(find(db, org, settings, id_number=id_number(2))) == {s["land"]}
    assert ids(find(db, org, settings, id_number=id_number(2).lower())) == {s["land"]}
    assert ids(find(db, org, settings, id_number=id_number(11))) == set()  # county B's petitioner
    assert ids(find(db, org, settings, phone_tail="1234")) == {s["land"]}
    # The whole phone, exactly: the candidates sharing its tail are compared after decryption, nothing else matches.
    CountingDecrypts.decrypted = 0
    assert ids(find(db, org, settings, phone="139 0013 1234", protector_class=CountingDecrypts)) == {s["land"]}
    assert ids(find(db, org, settings, phone="13900001234", protector_class=CountingDecrypts)) == set()
    with db.transaction() as session:
        sharing = len(session.scalars(select(Petitioner.id).where(Petitioner.phone_tail == "1234")).all())
    assert CountingDecrypts.decrypted == 2 * sharing
    assert ids(find(db, org, settings, text="拖欠")) == {s["wages"]}
    assert ids(find(db, org, settings, text="50%_")) == set()  # LIKE wildcards are literal
    assert ids(find(db, org, settings, state=["accepted"])) == {s["house"]}
    assert ids(find(db, org, settings, state=["accepted", "registered"])) == set(scene.county_a)
    assert ids(find(db, org, settings, category="land")) == {s["land"]}
    assert ids(find(db, org, settings, channel=["visit"])) == {s["land"], s["formula"]}
    assert ids(find(db, org, settings, owner_leader_id=org.people["leader_county"].id)) == {s["land"]}
    # Received 40 days ago, not accepted: the 15-day acceptance deadline is past and open.
    assert ids(find(db, org, settings, overdue=True)) == {s["land"]}
    assert ids(find(db, org, settings, overdue=False)) == set(scene.county_a) - {s["land"]}
    assert find(db, org, settings, overdue=True).items[0].overdue is True
    assert ids(find(db, org, settings, received_from="2026-02-25", received_to="2026-02-27")) == {s["wages"], s["house"]}
    assert ids(find(db, org, settings, received_to="2026-01-21")) == {s["land"]}
    assert ids(find(db, org, settings, name="张", state=["accepted"])) == set()


def test_node_filter_is_a_subtree_inside_the_readers(db, org, settings, scene):
    city = org.nodes["city"].id
    assert ids(find(db, org, settings, who="admin", node_id=city)) == set(scene.county_a + scene.county_b)
    assert ids(find(db, org, settings, who="admin", node_id=org.nodes["county2"].id)) == set(scene.county_b)
    assert ids(find(db, org, settings, node_id=org.nodes["county"].id)) == set(scene.county_a)
    assert ids(find(db, org, settings, node_id=org.nodes["township"].id)) == set()  # handled at the county
    with pytest.raises(Forbidden):
        find(db, org, settings, node_id=org.nodes["county2"].id)
    with pytest.raises(Invalid) as bad:
        find(db, org, settings, node_id=999_999)
    assert bad.value.field == "node_id"


@pytest.mark.parametrize("sort", ["received_desc", "received_asc", "due_asc"])
def test_a_county_coordinator_never_sees_another_county_past_the_first_page(db, org, settings, sort):
    extend_org(db, org)
    scene = build_search_scene(db, org, settings, extra_per_county=5)
    for who, mine in (("coord_county", scene.county_a), ("coord_county2", scene.county_b)):
        seen, cursor, pages = [], None, 0
        while True:
            page = find(db, org, settings, who=who, limit=2, cursor=cursor, sort=sort)
            assert page.total == len(mine)
            seen += [item.id for item in page.items]
            pages += 1
            cursor = page.next
            if cursor is None:
                break
        assert sorted(seen) == sorted(mine) and len(seen) == len(set(seen))
        assert pages == (len(mine) + 1) // 2
    admin = find(db, org, settings, who="admin", limit=500, sort=sort)
    order = [item.id for item in admin.items]
    if sort == "received_desc":
        assert [i.received_at for i in admin.items] == sorted((i.received_at for i in admin.items), reverse=True)
    elif sort == "received_asc":
        assert [i.received_at for i in admin.items] == sorted(i.received_at for i in admin.items)
    else:
        dues = [i.next_deadline.due for i in admin.items if i.next_deadline]
        assert dues == sorted(dues) and len(order) == len(scene.county_a + scene.county_b)


def test_bad_values_name_their_field(db, org, settings, scene):
    for filters, field in (({"id_number": "123"}, "id_number"), ({"category": "nonsense"}, "category"),
                           ({"received_from": "2026-03-02", "received_to": "2026-03-01"}, "received_to")):
        with pytest.raises(Invalid) as bad:
            find(db, org, settings, **filters)
        assert bad.value.field == field
    for cursor in ("garbage!", "cmR8eHx5", search.encode_cursor("due_asc", search.Position(
            __import__("datetime").date(2026, 3, 1), 1))):
        with pytest.raises(Invalid) as bad:
            find(db, org, settings, cursor=cursor)  # received_desc: another sort's cursor is refused too
        assert bad.value.field == "cursor"
    for values, field in (({"phone_tail": ["12"]}, "phone_tail"), ({"state": ["nope"]}, "state"),
                          ({"overdue": ["maybe"]}, "overdue"), ({"received_from": ["yesterday"]}, "received_from")):
        with pytest.raises(Invalid) as bad:
            search.parse(values)
        assert bad.value.field == field
    assert search.parse({"state": ["accepted", ""], "name": [" 张 "], "number": [""]}).filters() == {
        "state": ["accepted"], "name": "张"}


def test_petitioner_history_lists_only_readable_matters(db, org, settings, scene):
    with db.transaction() as session:
        petitioner = session.scalar(select(Petitioner.id).where(Petitioner.name == FORMULA_NAME))
        other = session.scalar(select(Petitioner.id).where(Petitioner.name == "赵六"))
        mine = principal_for(session.get(Person, org.people["coord_county"].id))
        history = search.petitioner_history(db=session, principal=mine, petitioner_id=petitioner)
        assert history.name == FORMULA_NAME and ids(history.matters) == {scene.ids["formula"]}
        with pytest.raises(NotFound):
            search.petitioner_history(db=session, principal=mine, petitioner_id=other)
