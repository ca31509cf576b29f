"""The administration pages of the tree and the rooms: forms with CSRF, errors in Chinese on the page, 303 on success."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import NOW, csrf_of, page_client, session_row
from vreception import clock
from vreception.models import Node, Room
from vreception.models.scheduling import RoomClosure, RoomHours


def _post(client, url: str, page_url: str, **data):
    token = csrf_of(client.get(page_url).text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def test_admin_grows_renames_moves_and_retires_nodes_in_the_tree(app, org, db):
    client = page_client(app, "admin")
    tree = client.get("/admin/org")
    assert tree.status_code == 200
    for name in ("青岚省", "岚州市", "城东区", "桃源镇", "城东区人社局"):
        assert name in tree.text
    assert 'href="/hearing-roster"' in tree.text and f'href="/admin/rooms?node_id={org.nodes["township"].id}"' in tree.text
    county = org.nodes["county"].id
    added = _post(client, "/admin/org/nodes", "/admin/org", parent_id=county, code="580102002", name="柳河镇")
    assert added.status_code == 303 and added.headers["location"].startswith("/admin/org#node-")
    with db.transaction() as s:
        made = s.scalar(select(Node).where(Node.code == "580102002"))
        assert made.level.value == "township" and made.parent_id == county
        made_id = made.id
    assert "柳河镇" in client.get("/admin/org").text
    # A second code that is taken: the tree again, with the reason in Chinese, nothing written.
    taken = _post(client, "/admin/org/nodes", "/admin/org", parent_id=county, code="580102002", name="重复镇")
    assert taken.status_code == 409 and 'data-error' in taken.text and "580102002" in taken.text
    renamed = _post(client, f"/admin/org/nodes/{made_id}/rename", "/admin/org", name="柳河新镇")
    assert renamed.status_code == 303
    moved = _post(client, f"/admin/org/nodes/{made_id}/move", "/admin/org", parent_id=org.nodes["county2"].id)
    assert moved.status_code == 303
    wrong = _post(client, f"/admin/org/nodes/{made_id}/move", "/admin/org", parent_id=org.nodes["city"].id)
    assert wrong.status_code == 422 and "层级不符" in wrong.text
    busy = _post(client, f"/admin/org/nodes/{org.nodes['township'].id}/retire", "/admin/org")
    assert busy.status_code == 409 and "不能撤销" in busy.text
    retired = _post(client, f"/admin/org/nodes/{made_id}/retire", "/admin/org")
    assert retired.status_code == 303
    with db.transaction() as s:
        node = s.get(Node, made_id)
        assert node.name == "柳河新镇" and node.parent_id == org.nodes["county2"].id and node.retired_at
    assert "柳河新镇" not in client.get("/admin/org").text
    assert "柳河新镇" in client.get("/admin/org?retired=true").text
    # Without the form's token nothing happens.
    forged = client.post(f"/admin/org/nodes/{county}/rename", data={"name": "伪造"}, follow_redirects=False)
    assert forged.status_code == 403


def test_tree_pages_are_the_administrators(app, org):
    for username in ("coord.province", "leader.county", "room.township"):
        client = page_client(app, username)
        assert client.get("/admin/org").status_code == 403, username
    assert page_client(app, None).get("/admin/org", follow_redirects=False).status_code == 303


def test_rooms_pages_keep_name_state_hours_and_closures(app, org, db):
    clock.travel_to(NOW)
    client = page_client(app, "admin")
    listing = client.get("/admin/rooms")
    assert listing.status_code == 200 and "桃源镇视频接访室" in listing.text and "白沙镇视频接访室" in listing.text
    added = _post(client, "/admin/rooms", "/admin/rooms", node_id=org.nodes["county"].id, name="城东区第二接访室")
    assert added.status_code == 303
    room_id = int(added.headers["location"].rsplit("/", 1)[1])
    page = f"/admin/rooms/{room_id}"
    assert "城东区第二接访室" in client.get(page).text
    empty = _post(client, "/admin/rooms", "/admin/rooms", node_id=org.nodes["county"].id, name="  ")
    assert empty.status_code == 422 and "data-error" in empty.text
    assert _post(client, page, page, name="城东区二号室").status_code == 303
    hours = _post(client, f"{page}/hours", page, opens_0="09:00", closes_0="12:00", opens_2="14:00", closes_2="17:30")
    assert hours.status_code == 303
    shown = client.get(page).text
    assert 'name="opens_0" value="09:00"' in shown and 'name="closes_2" value="17:30"' in shown
    backwards = _post(client, f"{page}/hours", page, opens_1="12:00", closes_1="09:00")
    assert backwards.status_code == 422 and "开放结束时间须晚于开始时间" in backwards.text
    half = _post(client, f"{page}/hours", page, opens_1="12:00")
    assert half.status_code == 422 and "有效的时间" in half.text
    closure = _post(client, f"{page}/closures", page, first="2026-03-10", last="2026-03-11", reason="设备更换")
    assert closure.status_code == 303
    no_reason = _post(client, f"{page}/closures", page, first="2026-03-10", last="2026-03-11", reason="")
    assert no_reason.status_code == 422 and "请填写关闭原因" in no_reason.text
    with db.transaction() as s:
        room = s.get(Room, room_id)
        assert room.name == "城东区二号室"
        assert sorted((h.weekday, h.opens.hour) for h in s.scalars(
            select(RoomHours).where(RoomHours.room_id == room_id))) == [(0, 9), (2, 14)]
        closures = list(s.scalars(select(RoomClosure).where(RoomClosure.room_id == room_id)))
        assert [c.reason for c in closures] == ["设备更换"]
        assert closures[0].ends_at - closures[0].starts_at == timedelta(days=2)
    assert "设备更换" in client.get(page).text
    removed = _post(client, f"{page}/closures/{closures[0].id}/delete", page)
    assert removed.status_code == 303 and "设备更换" not in client.get(page).text
    assert _post(client, f"{page}/closures/999999/delete", page).status_code == 404
    assert _post(client, f"{page}/active", page, active="0").status_code == 303
    assert 'data-active="0"' in client.get(page).text


def test_a_room_with_sessions_to_come_stays_active_and_says_why(app, org, db):
    clock.travel_to(NOW)
    with db.transaction() as s:
        session_row(s, org, starts_at=NOW + timedelta(days=1), room="township")
    client = page_client(app, "admin")
    page = f"/admin/rooms/{org.rooms['township'].id}"
    refused = _post(client, f"{page}/active", page, active="0")
    assert refused.status_code == 409 and "尚未进行的会面" in refused.text


def test_coordinators_keep_their_rooms_hours_but_not_their_names(app, org, db):
    client = page_client(app, "coord.county")
    listing = client.get("/admin/rooms")
    assert listing.status_code == 200
    assert "桃源镇视频接访室" in listing.text and "白沙镇视频接访室" not in listing.text
    assert "data-new-room" not in listing.text
    own = f"/admin/rooms/{org.rooms['township'].id}"
    assert client.get(own).status_code == 200 and "data-rename-room" not in client.get(own).text
    assert _post(client, f"{own}/hours", own, opens_4="08:30", closes_4="11:30").status_code == 303
    assert _post(client, own, own, name="改名").status_code == 403
    assert client.get(f"/admin/rooms/{org.rooms['township2'].id}").status_code == 403
    assert client.get("/admin/rooms/999999").status_code == 404
    assert page_client(app, "leader.county").get("/admin/rooms").status_code == 403
