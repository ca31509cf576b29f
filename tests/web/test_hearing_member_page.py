"""The hearing member's pages: their hearings, the case file of a hearing they sit on (not another's), the opinion
form and the confirmation of the 笔录."""

from __future__ import annotations

import pytest

from tests.factories import page_client, token
from tests.records.hearing_helpers import end_hearing, held_hearing
from vreception import documents
from vreception.models import Matter


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_member_sees_own_hearing_case_file_and_gives_an_opinion(app, db, org):
    held = held_hearing(db, org)
    other = held_hearing(db, org, panel=held.panel[1:] + [held.panel[0]], withdrawn=True)  # "hearing" withdrawn
    with db.transaction() as s:
        notice = documents.issue(db=s, matter=s.get(Matter, held.matter), kind="hearing_notice", actor_id=held.chair,
                                 addressee="张三", body="定于…举行听证")
        documents.serve(notice, db=s, actor_id=held.chair)
    browser = page_client(app, "hearing")
    listed = browser.get("/my-hearings")
    assert listed.status_code == 200
    assert held.number in listed.text and other.number in listed.text
    assert f'href="/calls/{held.session}"' in listed.text and f'href="/calls/{other.session}"' not in listed.text
    assert 'href="/my-hearings"' in listed.text  # the navigation link of the role
    page = browser.get(f"/hearings/{held.hearing}/member")
    assert page.status_code == 200
    assert "要求补发拖欠工资三万元" in page.text and notice.number in page.text and "张三" not in page.text
    assert browser.get(f"/hearings/{other.hearing}/member").status_code == 403  # withdrawn
    assert page_client(app, "leader.county").get(f"/hearings/{held.hearing}/member").status_code == 403
    assert browser.get("/hearings/999999/member").status_code == 404
    saved = browser.post(f"/hearings/{held.hearing}/member/opinion",
                         data={"opinion": "建议维持原复查意见", "csrf_token": token(browser)}, follow_redirects=False)
    assert saved.status_code == 303
    assert "建议维持原复查意见" in browser.get(f"/hearings/{held.hearing}/member").text
    end_hearing(db, held)
    from vreception import records
    from vreception.models.scheduling import ReceptionSession
    with db.transaction() as s:
        records.add_entry(db=s, booking=s.get(ReceptionSession, held.session), text="记录", actor_id=held.recorder)
    confirmed = browser.post(f"/hearings/{held.hearing}/member/confirm", data={"csrf_token": token(browser)},
                             follow_redirects=False)
    assert confirmed.status_code == 303
    assert 'data-confirmation-state="confirmed"' in browser.get(f"/hearings/{held.hearing}/member").text


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_member_reads_served_documents_of_the_case_file_but_not_the_matter_itself(app, db, org):
    held = held_hearing(db, org)
    with db.transaction() as s:
        matter = s.get(Matter, held.matter)
        served = documents.issue(db=s, matter=matter, kind="hearing_notice", actor_id=held.chair, addressee="张三",
                                 body="定于…举行听证")
        documents.serve(served, db=s, actor_id=held.chair)
        unserved = documents.issue(db=s, matter=matter, kind="acceptance_notice", actor_id=held.chair, addressee="张三")
        served_id, unserved_id, number = served.id, unserved.id, served.number
    browser = page_client(app, "hearing")
    page = browser.get(f"/hearings/{held.hearing}/member")
    link = f"/hearings/{held.hearing}/member/documents/{served_id}.html"
    assert f'href="{link}"' in page.text
    shown = browser.get(link)
    assert shown.status_code == 200 and number in shown.text and "听证通知书" in shown.text
    assert shown.headers["x-document-sha256"] and "default-src" in shown.headers["content-security-policy"]
    assert browser.get(f"/hearings/{held.hearing}/member/documents/{unserved_id}.html").status_code == 404
    # The panel reads the case file on its page only: not the matter, nor the documents through the office's routes.
    assert browser.get(f"/matters/{held.matter}").status_code == 403
    assert browser.get(f"/documents/{served_id}.html").status_code == 403
    # A member of no hearing on this matter gets nothing.
    other = held_hearing(db, org, panel=held.panel[1:] + [held.panel[0]], withdrawn=True)  # "hearing" withdrawn
    assert browser.get(f"/hearings/{other.hearing}/member/documents/{served_id}.html").status_code == 403
