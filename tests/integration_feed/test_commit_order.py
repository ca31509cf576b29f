"""The cursor never passes a change a later commit could still fill in (PostgreSQL, concurrent writers).

A plain sequence hands out ids at insert time, so a transaction that took id 7 and commits after the one that took
id 8 would let a reader see 8, move its cursor past 7, and never see 7. The feed's ids come from one head row,
bumped under its row lock until commit: ids become visible in commit order."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from tests.factories import register_matter
from vreception.integration import feed, record
from vreception.models import Matter
from vreception.models.integration import IntegrationChange

pytestmark = pytest.mark.parametrize("db", ["postgresql"], indirect=True)


def _poll(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def _waiting_on_a_lock(db, pid: int) -> bool:
    with db.engine.connect() as connection:
        return connection.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                                  {"pid": pid}).scalar() == "Lock"


def test_a_later_writer_waits_for_the_earlier_one_to_commit_and_readers_see_neither_meanwhile(db, org, settings):
    with db.transaction() as s:
        matter, _ = register_matter(s, org, settings)
        matter_id = matter.id
    with db.transaction() as s:
        start = feed.high_water(db=s)
    first = db.session()
    first_id = record.write(db=first, matter=first.get(Matter, matter_id), kind=record.STATE,
                            occurred_at=first.get(Matter, matter_id).registered_at, payload={"action": "first"})
    second_pid: list[int] = []
    second_id: list[int] = []

    def second_writer() -> None:
        with db.transaction() as s:
            second_pid.append(s.execute(text("SELECT pg_backend_pid()")).scalar_one())
            m = s.get(Matter, matter_id)
            second_id.append(record.write(db=s, matter=m, kind=record.STATE, occurred_at=m.registered_at,
                                          payload={"action": "second"}))

    thread = threading.Thread(target=second_writer)
    thread.start()
    try:
        _poll(lambda: bool(second_pid) and _waiting_on_a_lock(db, second_pid[0]))
        with db.transaction(reads_only=True) as s:
            page = feed.page(db=s, after=str(start))
        assert page.items == [] and page.next == str(start)  # nothing visible, the cursor stays put
    finally:
        db.finish(db=first, commit=True)
        thread.join(timeout=15)
    assert second_id == [first_id + 1]
    with db.transaction(reads_only=True) as s:
        page = feed.page(db=s, after=str(start))
    assert [(c.id, c.payload["action"]) for c in page.items] == [(first_id, "first"), (second_id[0], "second")]
    assert page.next == str(second_id[0])


def test_a_reader_polling_during_concurrent_registrations_misses_nothing(db, org, settings):
    writers, per_writer = 4, 6
    done = threading.Event()
    errors: list[BaseException] = []

    def write_matters(w: int) -> None:
        try:
            for i in range(per_writer):
                with db.transaction() as s:
                    matter, _ = register_matter(s, org, settings, serial=100 + w * per_writer + i)
                    # Hold the transaction a moment after the change: the reader runs while ids are taken.
                    s.execute(text("SELECT pg_sleep(0.02)"))
                    assert matter.id
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    seen: list[int] = []

    def read_feed() -> None:
        cursor = "0"
        while True:
            finished = done.is_set()
            with db.transaction(reads_only=True) as s:
                page = feed.page(db=s, after=cursor, limit=3)
            seen.extend(c.id for c in page.items)
            assert int(page.next) >= int(cursor)
            cursor = page.next
            if finished and not page.more:
                return

    threads = [threading.Thread(target=write_matters, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=read_feed)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    done.set()
    reader.join(timeout=60)
    assert not errors, errors
    with db.transaction() as s:
        stored = list(s.scalars(select(IntegrationChange.id).order_by(IntegrationChange.id)))
    assert len(stored) == writers * per_writer  # one registration change each
    assert stored == list(range(1, len(stored) + 1))
    assert seen == stored  # every change exactly once, in order
