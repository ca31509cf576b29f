"""A group visit in real Chromium, inside a private network namespace: booked from the booking page, then the call.

Usage: python -m tests.calls.netns_group_visit OUT_DIR
Seven petitioners with three representatives; the coordinator books the leader on the booking page, the room and
the leader join, the leader admits, both see video, the leader's roster names the representatives; the leader ends
the call and the kiosk lets go of its camera and microphone, says so, and returns to its start screen.
"""

from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from datetime import time as clock_time
from pathlib import Path

from tests.calls.netns_scenarios import INBOUND, World, end_call, open_page, run, sees, wait
from tests.cases.helpers import id_number
from tests.conftest import PASSWORD
from vreception import clock

PEOPLE = ["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七"]
REPRESENTATIVES = [0, 2, 4]
TRACKS = "() => window.vreceptionStream ? window.vreceptionStream.getTracks().map((t) => t.readyState) : null"


def register_group(world: World, base: str) -> dict:
    """The group matter, registered by the county office (7 petitioners, 3 representatives)."""
    from scheduling import plans
    from scheduling.policy import Policy

    with world.db.transaction() as session:
        plans.create_plan(db=session, policy=Policy(), kind="rotation", leader_ids=[world.org.people["leader_county"].id],
                          starts=clock_time(9), ends=clock_time(12), slot_minutes=30,
                          room_ids=[world.org.rooms["township"].id], scope="征地拆迁",
                          valid_from=date.today() - timedelta(days=1))
    office = world.api(base, "coord.county")
    # 赵一 came alone last year: the leader's case panel finds that matter by the ID number's hash.
    earlier = office.post("/api/v1/matters", json={
        "petitioners": [{"name": PEOPLE[0], "id_number": id_number(500)}],
        "origin_node_id": world.org.nodes["township"].id,
        "handling_node_id": world.org.nodes["county"].id, "channel": "visit",
        "demands": [{"summary": "承包地被占用未获补偿", "category": "land"}]})
    assert earlier.status_code == 201, earlier.text
    response = office.post("/api/v1/matters", json={
        "petitioners": [{"name": name, "id_number": id_number(500 + i)} for i, name in enumerate(PEOPLE)],
        "representatives": REPRESENTATIVES, "origin_node_id": world.org.nodes["township"].id,
        "handling_node_id": world.org.nodes["county"].id, "channel": "video",
        "demands": [{"summary": "集体土地征收补偿标准过低，请求重新核定", "category": "land"}]})
    assert response.status_code == 201, response.text
    return {**response.json(), "earlier_number": earlier.json()["number"]}


def book_on_the_page(browser, base: str, matter: dict, out: Path) -> int:
    """The coordinator books the county leader in the township room on the booking page; the new session's id."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", "coord.county")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{base}/matters/{matter['id']}/book")
    page.select_option("select[name=leader_id]", label="测试leader_county · 副县长")
    page.select_option("select[name=room_id]", label="桃源镇视频接访室")
    page.click("text=查看空闲时段")
    for _ in range(3):  # past this week's cut-off the first free slot is next week
        if page.locator("label.slot").count():
            break
        page.click("text=下一周")
    page.locator("label.slot").first.click()
    page.wait_for_selector("[data-check=ok]")
    page.screenshot(path=str(out / "group-booking.png"), full_page=True)
    page.click("text=确认预约")
    page.wait_for_url("**/sessions/*")
    session_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    context.close()
    return session_id


def group_visit(world: World, base: str, browser, out: Path) -> dict:
    matter = register_group(world, base)
    session_id = book_on_the_page(browser, base, matter, out)
    result: dict = {"session_id": session_id}
    with world.db.transaction() as s:
        from vreception.models.scheduling import ReceptionSession

        booked = s.get(ReceptionSession, session_id)
        seats = [(p.id, p.role, p.name) for p in booked.participants]
        starts_at = booked.starts_at
    # The first free slot lies ahead; the call opens shortly before it, so the clock runs on from its start.
    clock.travel_to(starts_at, freeze=False)
    result["seats"] = [[role, name] for _, role, name in seats]
    room_id = next(i for i, role, _ in seats if role == "room")
    leader_id = next(i for i, role, _ in seats if role == "leader")
    _, room = open_page(browser, base, "room.township", session_id, "blue", "room", out)
    _, leader = open_page(browser, base, "leader.county", session_id, "red", "leader", out)
    result["lobby_shown"] = bool(wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count()))
    leader.click(f"button.admit[data-participant='{room_id}']")
    result["leader_sees_room"] = bool(sees(leader, room_id, "blue"))
    result["room_sees_leader"] = bool(sees(room, leader_id, "red"))
    result["frames"] = {name: wait(lambda page=page: page.evaluate(INBOUND)["framesDecoded"] > 30
                                   and page.evaluate(INBOUND)["framesDecoded"])
                        for name, page in (("leader", leader), ("room", room))}
    result["roster_representatives"] = leader.locator("#participants li[data-role=representative]").all_inner_texts()
    result["room_caption"] = leader.inner_text(f"figure[data-publisher='{room_id}'] figcaption")
    result["desk_petitioners"] = leader.locator("#desk-petitioners li strong").all_inner_texts()
    result["desk_same_people"] = leader.inner_text("#desk-same-people")
    result["earlier_number"] = matter["earlier_number"]
    leader.screenshot(path=str(out / "call-leader-group.png"), full_page=True)
    room.screenshot(path=str(out / "call-room-group.png"))
    result["room_tracks_before"] = room.evaluate(TRACKS)

    end_call(leader)
    result["room_after_shown"] = bool(wait(lambda: room.is_visible("#after")))
    result["room_after_text"] = room.inner_text("#after-title")
    result["room_tracks_after"] = wait(lambda: all(s == "ended" for s in room.evaluate(TRACKS) or ["live"])
                                       and room.evaluate(TRACKS), timeout=5)
    result["room_video_released"] = room.evaluate("() => document.getElementById('local-video').srcObject === null")
    room.screenshot(path=str(out / "kiosk-after-call.png"))
    result["leader_after_links"] = bool(wait(lambda: leader.is_visible("#after-matter")))
    result["leader_tracks_after"] = wait(lambda: all(s == "ended" for s in leader.evaluate(TRACKS) or ["live"])
                                         and leader.evaluate(TRACKS), timeout=5)
    result["leader_matter_link"] = leader.get_attribute("#after-matter", "href")
    leader.screenshot(path=str(out / "call-leader-after.png"))
    started = time.monotonic()
    try:
        room.wait_for_url("**/kiosk", timeout=20_000)
        result["room_returned_to"] = room.url.removeprefix(base)
        result["room_returned_after_s"] = round(time.monotonic() - started, 1)
    except Exception:
        result["room_returned_to"] = room.url.removeprefix(base)
    result["state"] = world.session_state(session_id)
    return result


def main(out: Path) -> int:
    return run("group_visit", group_visit, out)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
