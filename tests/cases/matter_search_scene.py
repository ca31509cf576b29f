"""Matters of two counties to search and export: names, ID numbers, phones, demands, states, ages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tests.factories import NOW, act_on, id_number
from vreception import clock
from vreception.cases import register
from vreception.cases.identity import Protector

FORMULA_NAME = "=HYPERLINK(\"http://x\",\"点我\")"


@dataclass
class SearchScene:
    """Matter ids by key, and the ids handled in county A and county B."""

    ids: dict[str, int] = field(default_factory=dict)
    county_a: list[int] = field(default_factory=list)
    county_b: list[int] = field(default_factory=list)


# (key, county, name, ID serial, phone, summary, category, channel, days ago)
MATTERS = (
    ("wages", "a", "张三", 1, "13800138000", "村里拖欠三个月工资", "wages", "video", 3),
    ("land", "a", "李四", 2, "13900131234", "土地征收补偿款未发放", "land", "visit", 40),
    ("house", "a", "王五", 3, "13700130000", "危房改造补助被挪用", "housing", "video", 5),
    ("formula", "a", FORMULA_NAME, 4, "13600130000", "公式样式的姓名", "conduct", "visit", 6),
    ("wages_b", "b", "张三丰", 11, "13500135000", "工地拖欠工资", "wages", "video", 4),
    ("land_b", "b", "赵六", 12, "13400134000", "宅基地纠纷", "land", "visit", 41),
)


def build_search_scene(db, org, settings, *, extra_per_county: int = 0) -> SearchScene:
    """MATTERS at NOW (2026-03-02 10:00 Shanghai) plus EXTRA_PER_COUNTY more in each county, interleaved in time;
    the land matter of county A is accepted and owned by its leader."""
    clock.travel_to(NOW)
    protector = Protector(settings.effective_secret_key())
    scene = SearchScene()
    rows = list(MATTERS)
    for i in range(extra_per_county):
        rows.append((f"extra_a{i}", "a", f"甲{i}", 100 + i, "", f"其他诉求A{i}", "environment", "letter", 7 + 2 * i))
        rows.append((f"extra_b{i}", "b", f"乙{i}", 200 + i, "", f"其他诉求B{i}", "environment", "letter", 8 + 2 * i))
    with db.transaction() as session:
        for key, county, name, serial, phone, summary, category, channel, days in rows:
            petitioner = {"name": name, "id_number": id_number(serial), "phone": phone or None,
                          "address": None if phone else "某村1号"}
            office, origin, actor = (("county", "township", "coord_county") if county == "a"
                                     else ("county2", "township2", "coord_county2"))
            matter, _, _ = register.register(
                db=session, protector=protector, petitioners=[petitioner],
                demands=[{"summary": summary, "category": category}], origin_node_id=org.nodes[origin].id,
                handling_node_id=org.nodes[office].id, channel=channel, actor_id=org.people[actor].id,
                received_at=NOW - timedelta(days=days, minutes=len(scene.ids)))
            scene.ids[key] = matter.id
            (scene.county_a if county == "a" else scene.county_b).append(matter.id)
            if key == "land":
                act_on(session, org, matter, "set_owner", params={"leader_id": org.people["leader_county"].id})
            if key == "house":
                act_on(session, org, matter, "accept", params={})
    return scene
