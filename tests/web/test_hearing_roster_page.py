"""The office's roster of hearing members as a page: its coordinators list, add and take off members (with each
member's other hearings); the rosters above are shown for choosing; nobody else opens or changes it."""

from __future__ import annotations

import re

from tests.factories import FreshHeaders, csrf_of, extend_org, page_client
from tests.hearings.helpers import FAR, booking, decided


def _section(html: str, marker: str) -> str:
    return html[html.index(marker):]


def test_the_coordinator_keeps_the_roster_from_its_page(app, client, org, db):
    extend_org(db, org)
    h = decided(client, org, db)  # the county roster holds three members; the hearing is decided, not yet booked
    booked = client.post(f"/api/v1/hearings/{h.id}/booking", headers=h.headers, json=booking(org, FAR))
    assert booked.status_code == 201, booked.text
    province = FreshHeaders(client, "coord.province")
    client.post("/api/v1/hearing-roster", headers=province,
                json={"node_id": org.nodes["province"].id, "person_id": org.people["hearing"].id,
                      "profession": "教授"})
    browser = page_client(app, "coord.county")
    page = browser.get("/hearing-roster")  # by default the coordinator's own office
    assert page.status_code == 200 and f'data-roster-office="{org.nodes["county"].id}"' in page.text
    own = page.text[:page.text.index("上级机关名库")]
    assert own.count("data-roster-entry=") == 3 and "听证员乙" in own and "律师" in own
    # Each member's other hearings: all three sit on the booked one (its time shown).
    assert own.count(f'data-busy="{h.id}"') == 3 and "2026-03-10 09:00" in own
    inherited = _section(page.text, "上级机关名库")
    assert "data-inherited-entry=" in inherited and "青岚省" in inherited and "教授" in inherited
    assert "没有可列入名库的听证员" in page.text  # every hearing member of the county is listed already

    person = org.people["hearing3"].id
    entry = int(re.search(rf'data-roster-entry="(\d+)" data-person="{person}"', page.text).group(1))
    removed = browser.post(f"/hearing-roster/{entry}/remove", data={"csrf_token": csrf_of(page.text)},
                           follow_redirects=False)
    assert removed.status_code == 303
    page = browser.get(removed.headers["location"])
    assert "已移出名库" in page.text and f'data-roster-entry="{entry}"' not in page.text
    form = _section(page.text, 'data-roster-form="add"')
    assert f'<option value="{org.people["hearing3"].id}">' in form  # may be put back
    added = browser.post("/hearing-roster", data={"csrf_token": csrf_of(page.text), "node_id": org.nodes["county"].id,
                                                  "person_id": org.people["hearing3"].id, "profession": "人大代表"},
                         follow_redirects=False)
    assert added.status_code == 303
    page = browser.get(added.headers["location"])
    assert "已列入名库" in page.text and "人大代表" in page.text
    # Only people holding the hearing member role: a coded error in Chinese, nothing listed.
    wrong = browser.post("/hearing-roster", data={"csrf_token": csrf_of(page.text), "node_id": org.nodes["county"].id,
                                                  "person_id": org.people["handler"].id})
    assert wrong.status_code == 422 and "没有听证员角色，不能列入名库" in wrong.text
    assert wrong.text.count("data-roster-entry=") == 3


def test_others_may_not_open_or_change_the_roster(app, client, org, db):
    extend_org(db, org)
    county = org.nodes["county"].id
    other = page_client(app, "coord.county2")
    assert other.get(f"/hearing-roster?node_id={county}").status_code == 403
    token = csrf_of(other.get("/hearing-roster").text)  # its own office's roster opens
    refused = other.post("/hearing-roster", data={"csrf_token": token, "node_id": county,
                                                  "person_id": org.people["hearing"].id}, follow_redirects=False)
    assert refused.status_code == 403
    for username in ("leader.county", "handler", "hearing"):
        assert page_client(app, username).get(f"/hearing-roster?node_id={county}").status_code == 403, username
    # The province keeps the county's roster too (a coordinator over it), as the API allows.
    assert page_client(app, "coord.province").get(f"/hearing-roster?node_id={county}").status_code == 200
