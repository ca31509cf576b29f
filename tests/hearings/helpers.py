"""A hearing's scene: an accepted county matter, a roster of three hearing members, a chair and a recorder; during
复核 the province's (the body two levels above the county that replied)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.factories import SH, FreshHeaders, act, add_person, extend_org, register
from vreception import clock

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a Monday
FAR = datetime(2026, 3, 10, 9, 0, tzinfo=SH)  # eight days on: past the notice period


@dataclass
class Hearing:
    matter: int
    id: int
    headers: FreshHeaders


def staff(db, org) -> None:
    """Two more hearing members on the county roster with the first, and a recorder (记录员) of the county."""
    with db.transaction() as session:
        add_person(session, org, "hearing2", "hearing_member", "county", name="听证员乙")
        add_person(session, org, "hearing3", "hearing_member", "county", name="听证员丙")
        add_person(session, org, "clerk", "coordinator", "county", name="记录员丁")


def province_staff(client, org, db) -> FreshHeaders:
    """A leader (chair) and a recorder of the province, and its coordinator's headers: the 复核 body runs the hearing."""
    with db.transaction() as session:
        add_person(session, org, "leader_province", "leader", "province", title="副省长", name="省领导甲")
        add_person(session, org, "clerk_province", "coordinator", "province", name="记录员戊")
    return FreshHeaders(client, "coord.province")


def roster(client, org, headers, node: str = "county") -> None:
    for key in ("hearing", "hearing2", "hearing3"):
        response = client.post("/api/v1/hearing-roster", headers=headers,
                               json={"node_id": org.nodes[node].id, "person_id": org.people[key].id,
                                     "profession": "律师"})
        assert response.status_code == 201, response.text


def members(org, *keys, chosen=()) -> dict:
    return {"members": [{"person_id": org.people[k].id, "chosen_by_petitioner": k in chosen} for k in keys]}


def accepted(client, org, db, *, recheck: bool = False) -> tuple[dict, FreshHeaders]:
    """A matter of the county accepted (or, with RECHECK, asked for second review) at NOW."""
    clock.travel_to(NOW)
    staff(db, org)
    matter, headers = register(client, org)
    act(client, headers, matter["id"], "accept")
    if recheck:
        act(client, headers, matter["id"], "reply", outcome="explain", reason="张三的工资已结清。")
        for action in ("serve", "request_review"):
            act(client, headers, matter["id"], action)
        # 复查 is the city's, one level above the county that replied.
        extend_org(db, org)
        act(client, FreshHeaders(client, "coord.city"), matter["id"], "review_reply", outcome="not_support",
            reason="维持。")
        for action in ("serve", "request_recheck"):
            act(client, headers, matter["id"], action)
    return matter, headers


def decided(client, org, db, *, recheck: bool = False) -> Hearing:
    """A hearing proposed and decided, chair and recorder appointed, a panel of three composed (during 复核 by the
    province, its leader in the chair, from its roster)."""
    matter, headers = accepted(client, org, db, recheck=recheck)
    chair, recorder = "leader_county", "clerk"
    if recheck:
        headers, chair, recorder = province_staff(client, org, db), "leader_province", "clerk_province"
    roster(client, org, headers, "province" if recheck else "county")
    hearing = client.post(f"/api/v1/matters/{matter['id']}/hearings", headers=headers,
                          json={"by_petitioner": True, "reason": "事实争议较大"})
    assert hearing.status_code == 201, hearing.text
    hid = hearing.json()["id"]
    for method, path, body in (
            ("POST", "decision", {"hold": True}),
            ("PUT", "chair", {"chair_id": org.people[chair].id, "recorder_id": org.people[recorder].id}),
            ("PUT", "panel", members(org, "hearing", "hearing2", "hearing3", chosen=("hearing2",)))):
        response = client.request(method, f"/api/v1/hearings/{hid}/{path}", headers=headers, json=body)
        assert response.status_code == 200, response.text
    return Hearing(matter["id"], hid, headers)


def authorisation(client, headers, matter_id: int) -> str:
    """An agent's written authorisation (an image) attached to the matter; its item."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 0, 0)).save(out, format="PNG")
    added = client.post(f"/api/v1/matters/{matter_id}/attachments", headers=headers,
                        files={"file": ("授权委托书.png", out.getvalue(), "image/png")})
    assert added.status_code == 201, added.text
    return added.json()["item"]


def booking(org, start: datetime = FAR, **extra) -> dict:
    return {"room_ids": [org.rooms["township"].id], "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(), "handler_ids": [org.people["handler"].id],
            "petitioners": ["张三"], **extra}
