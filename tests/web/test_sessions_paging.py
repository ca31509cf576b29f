"""The sessions list pages by keys (the start and id of the last row shown): every session once, in order, however
the list changes between pages; the total is counted (up to the cap) and an offset cursor is refused."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.factories import SH, login, session_row

START = datetime(2026, 3, 9, 9, 0, tzinfo=SH)


def _walk(client, headers, limit: int) -> tuple[list[int], list[dict]]:
    seen, pages, cursor = [], [], None
    while True:
        answer = client.get("/api/v1/sessions", params={"limit": limit, **({"cursor": cursor} if cursor else {})},
                            headers=headers)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        seen += [item["id"] for item in answer.json()["items"]]
        cursor = answer.json()["next"]
        if cursor is None:
            return seen, pages


def test_sessions_page_by_start_and_id_without_repeats_or_gaps(client, db, org):
    with db.transaction() as session:
        # Three share a start: the id breaks the tie, across a page boundary too.
        ids = [session_row(session, org, starts_at=START + timedelta(hours=h)).id for h in (2, 0, 0, 0, 5, 1, 3)]
    headers = login(client, "coord.province")
    seen, pages = _walk(client, headers, limit=2)
    expected = [i for _, i in sorted((h, i) for h, i in zip((2, 0, 0, 0, 5, 1, 3), ids, strict=True))]
    assert seen == expected
    assert [len(p["items"]) for p in pages] == [2, 2, 2, 1]
    assert all(p["total"] == 7 and "total_capped" not in p for p in pages)
    assert all(p["next"].startswith("s.") for p in pages[:-1])


def test_a_session_booked_between_pages_neither_shifts_nor_repeats_the_next(client, db, org):
    with db.transaction() as session:
        ids = [session_row(session, org, starts_at=START + timedelta(hours=h)).id for h in range(4)]
    headers = login(client, "coord.county")
    first = client.get("/api/v1/sessions", params={"limit": 2}, headers=headers).json()
    assert [item["id"] for item in first["items"]] == ids[:2]
    with db.transaction() as session:  # earlier than the page boundary: an offset would show ids[1] again
        session_row(session, org, starts_at=START - timedelta(days=1))
    second = client.get("/api/v1/sessions", params={"limit": 2, "cursor": first["next"]}, headers=headers).json()
    assert [item["id"] for item in second["items"]] == ids[2:]
    assert second["next"] is None and second["total"] == 5


def test_an_offset_or_foreign_cursor_is_refused(client, db, org):
    with db.transaction() as session:
        session_row(session, org, starts_at=START)
    headers = login(client, "coord.province")
    for cursor in ("2", "m.t1.i2", "s.x1.i2", "s." + "1" * 40):
        answer = client.get("/api/v1/sessions", params={"cursor": cursor}, headers=headers)
        assert answer.status_code == 422, (cursor, answer.text)
