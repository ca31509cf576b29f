"""A demo province shaped like a real one (fictional places and people, real-looking codes)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import org, people
from vreception.models import Matter, Node, Person, Room

PROVINCE_CODE = "580000"
DEMO_USERNAMES = ("admin", "coord.province", "leader.province", "coord.city", "leader.city", "coord.county",
                  "leader.county", "handler.county", "room.county", "hearing.member", "coord.township",
                  "leader.township", "room.township", "hearing.chair", "hearing.clerk", "hearing.member2",
                  "hearing.member3", "room.township2")
# The demo hearing's people: the county office runs it, a county leader chairs it, a clerk records it, three members
# from the county roster sit on it, the handling unit answers, and the petitioner comes to the second township's room.
HEARING_PEOPLE = {"office": "coord.county", "chair": "hearing.chair", "recorder": "hearing.clerk",
                  "handler": "handler.county", "room": "room.township2"}
HEARING_MEMBERS = ("hearing.member", "hearing.member2", "hearing.member3")
DEMO_PASSWORD = "Demo@2026!"  # the password policy wants ten characters

# city code → (name, [(county code suffix, county name, [township names])])
GEOGRAPHY = {
    "580100": ("岚州市", [
        ("02", "城东区", ["东关街道", "新河街道", "桃源镇", "柳河镇", "石桥镇"]),
        ("03", "城西区", ["西关街道", "北湖街道", "白沙镇", "龙泉镇"]),
        ("21", "安平县", ["安平镇", "清水乡", "马坊镇", "双井乡", "长岗镇"]),
        ("22", "石门县", ["石门镇", "杨柳乡", "金鸡镇", "黄土乡"]),
    ]),
    "580200": ("溪川市", [
        ("02", "临溪区", ["临溪街道", "古城街道", "南湖街道", "三江镇"]),
        ("21", "河口县", ["河口镇", "五里乡", "高桥镇", "沙河镇", "太平乡"]),
        ("22", "青峰县", ["青峰镇", "永安镇", "兴隆镇", "和平乡"]),
    ]),
    "580300": ("云岭州", [
        ("01", "云岭市", ["玉泉街道", "紫荆街道", "望江镇", "平安乡"]),
        ("22", "高原县", ["高原镇", "丰收镇", "黎明乡", "云顶乡", "雾溪镇"]),
        ("23", "雪山县", ["雪山镇", "马鞍乡", "官渡镇", "盐井乡"]),
    ]),
}

# suffix, name template ({} = region short name)
DEPARTMENTS = {
    "province": [("XFJ", "省信访局"), ("GAT", "省公安厅"), ("ZRT", "省自然资源厅"), ("RST", "省人力资源和社会保障厅"), ("ZJT", "省住房和城乡建设厅")],
    "city": [("XFJ", "{}信访局"), ("GAJ", "{}公安局"), ("ZRJ", "{}自然资源和规划局"), ("RSJ", "{}人力资源和社会保障局"), ("ZJJ", "{}住房和城乡建设局")],
    "county": [("XFJ", "{}信访局"), ("GAJ", "{}公安局"), ("ZRJ", "{}自然资源局"), ("RSJ", "{}人力资源和社会保障局"), ("NYJ", "{}农业农村局")],
    "township": [("ZZZX", "{}综治中心")],
}

PROVINCE_LEADER_TITLES = ["副省长", "省委副书记、省信访工作联席会议召集人"]


def leader_titles(region_name: str, level: str) -> list[str]:
    """The leaders' titles of a region, by what kind of place its name says it is."""
    if level == "province":
        return PROVINCE_LEADER_TITLES
    if region_name.endswith("街道"):
        return ["党工委书记", "办事处主任"]
    if level == "township":
        head = "乡长" if region_name.endswith("乡") else "镇长"
        return ["党委书记", head]
    unit = region_name[-1]  # 市, 州, 县 or 区
    return [f"{unit}委书记", f"{unit}长", f"副{unit}长"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌海燕春梅鹏飞宇晨浩然子涵欣怡思远嘉慧振东立新"


@dataclass
class DemoUser:
    """A sign-in printed for the demo."""

    username: str
    name: str
    role: str
    where: str


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def is_loaded(*, db: Session) -> bool:
    """Whether the demo province exists already."""
    return db.scalar(select(Node.id).where(Node.code == PROVINCE_CODE)) is not None


def load(*, db: Session) -> list[DemoUser]:
    """Create the demo province with its cities, counties, townships, departments, rooms and people."""
    from vreception.hearings import panel

    rng = random.Random(580000)
    users: list[DemoUser] = []

    def account(username: str, name: str, title: str, node: Node, role: str, *, scope: Node | None = None,
                room_id: int | None = None, where: str | None = None) -> Person:
        person = people.create_person(db=db, name=name, title=title, node_id=node.id, username=username,
                                      password=DEMO_PASSWORD)
        people.assign_role(db=db, person=person, role=role, node_id=(scope or node).id, room_id=room_id)
        users.append(DemoUser(username, name, role, where or (scope or node).name))
        return person

    def staff(name: str, title: str, node: Node, role: str, scope: Node | None = None) -> Person:
        person = people.create_person(db=db, name=name, title=title, node_id=node.id)
        people.assign_role(db=db, person=person, role=role, node_id=(scope or node).id)
        return person

    def departments(region: Node) -> dict[str, Node]:
        out = {}
        for suffix, template in DEPARTMENTS[region.level.value]:
            name = template.format(region.name) if "{}" in template else template
            out[suffix] = org.create_node(db=db, code=f"{region.code}-{suffix}", name=name,
                                          level=region.level.value, kind="department", parent_id=region.id)
        return out

    def leaders(region: Node, home: Node) -> list[Person]:
        result = []
        for title in leader_titles(region.name, region.level.value):
            prefix = "" if region.level.value == "province" else region.name
            result.append(staff(_name(rng), f"{prefix}{title}", home, "leader", scope=region))
        return result

    def room(region: Node, label: str) -> Room:
        return org.create_room(db=db, node_id=region.id, name=f"{region.name}{label}")

    province = org.create_node(db=db, code=PROVINCE_CODE, name="青岚省", level="province")
    p_depts = departments(province)
    org.create_room(db=db, node_id=province.id, name="省信访局视频接访中心")
    account("admin", "系统管理员", "省信访局信息中心", p_depts["XFJ"], "admin", scope=province)
    account("coord.province", _name(rng), "省信访局督查专员", p_depts["XFJ"], "coordinator", scope=province)
    leaders(province, province)
    account("leader.province", _name(rng), "省信访局局长", p_depts["XFJ"], "leader", scope=province)

    first_city = first_county = first_township = True
    for city_code, (city_name, counties) in GEOGRAPHY.items():
        city = org.create_node(db=db, code=city_code, name=city_name, level="city", parent_id=province.id)
        c_depts = departments(city)
        room(city, "群众来访接待中心视频接访室")
        leaders(city, city)
        staff(_name(rng), f"{city_name}信访局副局长", c_depts["XFJ"], "coordinator", scope=city)
        if first_city:
            account("coord.city", _name(rng), f"{city_name}信访局科长", c_depts["XFJ"], "coordinator", scope=city)
            account("leader.city", _name(rng), f"{city_name}副{city_name[-1]}长", city, "leader")
        for suffix, county_name, townships in counties:
            county = org.create_node(db=db, code=city_code[:4] + suffix, name=county_name, level="county",
                                     parent_id=city.id)
            k_depts = departments(county)
            county_room = room(county, "视频接访室")
            leaders(county, county)
            staff(_name(rng), f"{county_name}信访局局长", k_depts["XFJ"], "coordinator", scope=county)
            staff(_name(rng), f"{county_name}人社局信访科科长", k_depts["RSJ"], "handler")
            if first_city and first_county:
                account("coord.county", _name(rng), f"{county_name}信访局干部", k_depts["XFJ"], "coordinator", scope=county)
                account("leader.county", _name(rng), f"{county_name}副{county_name[-1]}长", county, "leader")
                account("handler.county", _name(rng), f"{county_name}人社局劳动监察大队队长", k_depts["RSJ"], "handler")
                account("room.county", f"{county_room.name}", "接访室终端", county, "room", room_id=county_room.id,
                        where=county_room.name)
                account("hearing.chair", _name(rng), f"{county_name}副{county_name[-1]}长（分管信访工作）", county,
                        "leader")
                account("hearing.clerk", _name(rng), f"{county_name}信访局科员（听证记录员）", k_depts["XFJ"],
                        "coordinator", scope=county)
                # The county office's roster (听证员名库): enough members for a panel of three.
                for username, profession in zip(HEARING_MEMBERS, ("律师", "人大代表", "社区代表"), strict=True):
                    member = account(username, _name(rng), f"听证员（{profession}）", county, "hearing_member")
                    panel.add_to_roster(db=db, node_id=county.id, person_id=member.id, profession=profession,
                                        actor_id=None)
            for index, township_name in enumerate(townships, start=1):
                township = org.create_node(db=db, code=f"{county.code}{index:03d}", name=township_name,
                                           level="township", parent_id=county.id)
                departments(township)
                t_room = room(township, "视频接访室")
                leaders(township, township)
                if first_township:
                    account("coord.township", _name(rng), f"{township_name}信访办主任", township, "coordinator")
                    # The township's secretary is one of leaders() above: this account is the deputy secretary.
                    deputy = leader_titles(township_name, "township")[0].replace("书记", "副书记")
                    account("leader.township", _name(rng), f"{township_name}{deputy}", township, "leader")
                    account("room.township", t_room.name, "接访室终端", township, "room", room_id=t_room.id,
                            where=t_room.name)
                    first_township = False
                elif first_city and first_county and index == 2:
                    # The demo hearing's petitioner attends from here, apart from the walk-in's room.
                    account("room.township2", t_room.name, "接访室终端", township, "room", room_id=t_room.id,
                            where=t_room.name)
            first_county = False
        first_city = False
    return users


# (name, serial, birth, demands [(summary, category)], channel); the serial's last digit is odd for a man, even for
# a woman (the ID number's 17th digit), and gives each petitioner a phone number of their own.
Sample = tuple[str, int, str, list[tuple[str, str]], str]
COUNTY_CODE = "580102"
SAMPLE_MATTERS: list[Sample] = [
    ("王秀英", 12, "19580312", [("村里征地补偿款至今未发放到户，请求督促镇政府依法发放。", "land")], "video"),
    ("刘建军", 11, "19761105", [("在工地务工三个月工资被拖欠，包工头失联，请求帮助追讨。", "wages"),
                                ("要求补缴务工期间的工伤保险。", "social_security")], "visit"),
    ("陈志强", 13, "19690721", [("不服县法院关于宅基地纠纷的一审判决。", "court_judgment")], "letter"),
]
# The demo hearing's matter: facts in dispute, which a hearing is for (条例 Art. 31).
HEARING_MATTER: Sample = ("赵桂兰", 14, "19630415", [
    ("对房屋征收中的面积测量结果和补偿标准有异议，与街道说法分歧较大，请求重新核定补偿。", "land")], "visit")


def _id_number(serial: int, birth: str) -> str:
    from vreception.cases.identity import check_digit

    first17 = f"{COUNTY_CODE}{birth}{serial:03d}"
    return first17 + check_digit(first17)


def register_sample(*, db: Session, secret: str, sample: Sample, origin_code: str,
                    actor_id: int | None = None) -> Matter:
    """Register SAMPLE at the demo county, brought from the place ORIGIN_CODE."""
    from vreception.cases import register
    from vreception.cases.identity import Protector

    county = db.scalar(select(Node).where(Node.code == COUNTY_CODE))
    origin = db.scalar(select(Node).where(Node.code == origin_code))
    assert county is not None and origin is not None  # made by load()
    name, serial, birth, demands, channel = sample
    matter, _, _ = register.register(
        db=db, protector=Protector(secret), channel=channel, origin_node_id=origin.id, handling_node_id=county.id,
        petitioners=[{"name": name, "id_number": _id_number(serial, birth), "phone": f"1390731{serial:04d}"}],
        demands=[{"summary": text, "category": category} for text, category in demands], actor_id=actor_id)
    return matter


def load_matters(*, db: Session, secret: str) -> int:
    """A few matters registered at the demo county, so the pages have something to show."""
    if db.scalar(select(Matter.id).limit(1)) is not None:
        return 0
    for sample in SAMPLE_MATTERS:
        register_sample(db=db, secret=secret, sample=sample, origin_code=f"{COUNTY_CODE}001")
    return len(SAMPLE_MATTERS)


@dataclass(frozen=True)
class HearingCast:
    """The demo hearing's people (HEARING_PEOPLE, HEARING_MEMBERS) and the room the petitioner attends from."""

    office: Person
    chair: Person
    recorder: Person
    handler: Person
    members: list[Person]
    room: Room


def hearing_cast(*, db: Session) -> HearingCast | None:
    """The demo hearing's cast, or None in a demo database loaded before they were among its accounts."""
    wanted = [*HEARING_PEOPLE.values(), *HEARING_MEMBERS]
    found = {p.username: p for p in db.scalars(select(Person).where(Person.username.in_(wanted)))}
    if len(found) < len(wanted):
        return None
    people_of = {part: found[username] for part, username in HEARING_PEOPLE.items()}
    room = next((a.room for a in people_of["room"].roles if a.room is not None), None)
    if room is None:
        return None
    return HearingCast(office=people_of["office"], chair=people_of["chair"], recorder=people_of["recorder"],
                       handler=people_of["handler"], members=[found[u] for u in HEARING_MEMBERS], room=room)


def sign_ins(*, db: Session) -> list[DemoUser]:
    """The demo sign-ins as they are in the database now."""
    from vreception.models import Person

    rows = db.scalars(select(Person).where(Person.username.isnot(None)).order_by(Person.id))
    out = []
    for person in rows:
        assert person.username is not None  # selected for it
        for assignment in person.roles:
            where = assignment.room.name if assignment.room else assignment.node.name
            out.append(DemoUser(person.username, person.name, assignment.role.value, where))
    return out


def demo_traces(*, db: Session) -> list[str]:
    """What of the demo is in this database: its province, and accounts that still take the demo password."""
    from vreception.auth.passwords import check_password
    from vreception.models import Person

    found = [f"node {code}" for code in db.scalars(select(Node.code).where(Node.code == PROVINCE_CODE))]
    # Only the demo's own user names are tried: hashing every account's password would take minutes.
    for person in db.scalars(select(Person).where(Person.username.in_(DEMO_USERNAMES), Person.active.is_(True))):
        if check_password(DEMO_PASSWORD, person.password_hash):
            found.append(f"account {person.username}")
    return found
