"""A generated province for the scale benchmark (issue 16): 15 cities, 118 counties, 1,448 townships, N matters.

The province, its cities and the first county (everyone the benchmark signs in as) go through the project's own
services (org.create_node, people.create_person …, each audited); the other counties are the same rows and audit
events computed here and written in bulk.
The matters, their petitioners, demands, deadlines, timelines, tasks and sessions over two years are computed with
the project's own functions (ID numbers encrypted by the Protector with keyed lookup hashes, numbers as register()
writes them, due days from the work calendar, audit events chained with the audit key) and written in bulk: COPY on
PostgreSQL, multi-row INSERT on SQLite. Deterministic for a seed. Documents (notice HTML) are not generated.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from vreception import audit, org, people
from vreception.audit import checkpoints
from vreception.cases.deadlines import RULES
from vreception.cases.identity import Protector
from vreception.models import (
    AuditEvent,
    AuditHead,
    Deadline,
    Demand,
    Matter,
    MatterEvent,
    MatterPetitioner,
    Node,
    NodeKind,
    NodeLevel,
    Person,
    Petitioner,
    Role,
    RoleAssignment,
    Room,
    Task,
)
from vreception.models.scheduling import Participant, ReceptionSession, SessionEvent
from vreception.workdays import WorkCalendar, load_calendar

ZONE = ZoneInfo("Asia/Shanghai")
PROVINCE = "590000"
CITIES, COUNTIES, TOWNSHIPS = 15, 118, 1448
COUNTY_UNITS = (("GAJ", "公安局"), ("RSJ", "人力资源和社会保障局"), ("ZJJ", "住房和城乡建设局"))
CATEGORIES = ("wages", "land", "housing", "social_security", "environment", "police", "urban_management")
CHANNELS = (("online", 30), ("video", 25), ("visit", 20), ("letter", 20), ("phone", 5))
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文海春梅林波斌宇浩凯鹏飞雪琳晨阳"
SUMMARIES = {
    "wages": "工地拖欠农民工工资{}个月未结清",
    "land": "村集体土地征收补偿款分配不公，涉及{}户",
    "housing": "安置房逾期{}个月未交付",
    "social_security": "养老保险缴费年限认定有误，少算{}年",
    "environment": "养殖场污水直排河道已持续{}个月",
    "police": "报警后{}个月未见处理结果",
    "urban_management": "违章建筑影响通行，反映{}次未处理",
}
PASSWORD = "Bench@2026-scale"
KNOWN_CODE = "SCALE00001"  # the first matter's query code, for the petitioner's lookup
CHUNK = 5000
DEFER_INDEXES_AT = 50_000  # from this many matters the secondary indexes are built after the load (PostgreSQL)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


@dataclass
class Accounts:
    """Who the benchmark signs in as, and a matter a petitioner looks up."""

    usernames: dict[str, str] = field(default_factory=dict)  # role key → username
    lookup_number: str = ""
    lookup_code: str = ""
    county_id: int = 0
    city_id: int = 0
    province_id: int = 0
    leader_id: int = 0
    room_id: int = 0


@dataclass
class County:
    node: Node
    xfj: Node
    units: list[Node]
    townships: list[Node]
    rooms: list[int]
    leaders: list[int]
    coordinator: int
    handlers: dict[int, int]  # unit node id → handler person id


def id_number(rng: random.Random, area: str, born: date, female: bool) -> str:
    """A valid 18-digit resident ID number (GB 11643): area, birth date, serial with the sex digit, check digit."""
    serial = rng.randrange(0, 50) * 2 + (0 if female else 1)
    body = f"{area}{born:%Y%m%d}{rng.randrange(0, 10)}{serial:02d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
    return body + check


def _chunks(rows: Iterable[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Writer:
    """Bulk rows into tables: COPY text on PostgreSQL, executemany INSERT elsewhere; explicit ids, sequences set after.

    The COPY lines are formatted here (UTC instants without zone, as UTCDateTime stores them) rather than through
    each column's bind processor: that was half the generator's time.
    """

    def __init__(self, db: Session):
        self.db = db
        self.postgres = db.get_bind().dialect.name == "postgresql"
        self.counts: dict[str, int] = {}

    def next_id(self, table: Table) -> int:
        return int(self.db.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
        missing = {c.name: c.default.arg for c in table.columns  # type: ignore[attr-defined]
                   if c.name not in rows[0] and c.default is not None and c.default.is_scalar}
        if missing:
            rows = [{**missing, **row} for row in rows]
        if not self.postgres:
            self.db.execute(insert(table), rows)
            return
        columns = list(rows[0])
        connection = self.db.connection().connection.driver_connection
        assert connection is not None
        text_rows = "".join("\t".join([_copy_text(row[c]) for c in columns]) + "\n" for row in rows)
        with connection.cursor() as cursor:
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                copy.write(text_rows.encode())

    def reset_sequences(self, tables: Iterable[Table]) -> None:
        if not self.postgres:
            return
        for table in tables:
            if "id" not in table.c:
                continue
            self.db.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"(SELECT COALESCE(MAX(id), 1) FROM \"{table.name}\"))"))


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_SPECIAL = re.compile(r"[\\\t\n\r]")


def _text_str(value: str) -> str:
    return value.translate(_ESCAPES) if _SPECIAL.search(value) else value


def _text_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


_FORMATS: dict[type, Callable[[Any], str]] = {
    str: _text_str, int: str, datetime: _text_datetime, date: str, bool: lambda v: "t" if v else "f",
    type(None): lambda _: "\\N"}


def _copy_text(value: Any) -> str:
    """VALUE in PostgreSQL's COPY text format (as the column's type would bind it)."""
    formats = _FORMATS.get(type(value))
    if formats is not None:
        return formats(value)
    if isinstance(value, Enum):
        return str(value.name)
    if isinstance(value, str):
        return _text_str(value)
    return str(value)


def deferred_indexes(db: Session, tables: Iterable[Table]) -> Callable[[], None]:
    """Drop the secondary indexes of TABLES (PostgreSQL; not those behind a constraint) and return what rebuilds them.

    One sort per index after the load is several times faster than keeping every index up to date row by row.
    """
    names = [t.name for t in tables]
    found = db.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(:names) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)"),
        {"names": names}).all()
    for name, _ in found:
        db.execute(text(f'DROP INDEX "{name}"'))

    def rebuild() -> None:
        db.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for _, definition in found:
            db.execute(text(definition))

    return rebuild


def _t(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Services:
    """The organisation through the project's own services: each row checked and audited one by one."""

    def __init__(self, db: Session):
        self.db = db

    def node(self, code: str, name: str, level: str, parent: Node | None, kind: str = "region") -> Node:
        return org.create_node(db=self.db, code=code, name=name, level=level, kind=kind,
                               parent_id=parent.id if parent else None)

    def room(self, node: Node, name: str) -> int:
        return org.create_room(db=self.db, node_id=node.id, name=name).id

    def person(self, name: str, node: Node, title: str = "") -> int:
        return people.create_person(db=self.db, name=name, title=title, node_id=node.id).id

    def role(self, person_id: int, role: str, node: Node, room_id: int | None = None) -> None:
        person = self.db.get(Person, person_id)
        assert person is not None
        people.assign_role(db=self.db, person=person, role=role, node_id=node.id, room_id=room_id)


class Bulk:
    """The rows and audit events the services would write (Services), computed here and written in bulk: the
    services cost a few round trips per row, which was 95 % of a 20,000-matter province's load."""

    def __init__(self, db: Session, writer: Writer, chain: Chain):
        self.db, self.writer, self.chain = db, writer, chain
        self.models = {"node": Node, "room": Room, "person": Person, "role": RoleAssignment}
        self.ids = {name: writer.next_id(_t(model)) for name, model in self.models.items()}
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in self.models}
        self.at = datetime.now(UTC)

    def _take(self, name: str) -> int:
        self.ids[name] += 1
        return self.ids[name] - 1

    def node(self, code: str, name: str, level: str, parent: Node | None, kind: str = "region") -> Node:
        assert parent is not None
        node_id = self._take("node")
        node = Node(id=node_id, code=code, name=name, level=NodeLevel(level), kind=NodeKind(kind),
                    parent_id=parent.id, path=f"{parent.path}{node_id}/")  # never added to the session
        self.rows["node"].append({"id": node_id, "code": code, "name": name, "level": node.level, "kind": node.kind,
                                  "parent_id": parent.id, "path": node.path, "created_at": self.at,
                                  "retired_at": None})
        self.chain.add(self.at, None, "node.created", "node", node_id, {
            "code": code, "name": name, "level": level, "kind": kind, "parent_id": parent.id})
        return node

    def room(self, node: Node, name: str) -> int:
        room_id = self._take("room")
        self.rows["room"].append({"id": room_id, "node_id": node.id, "name": name, "active": True,
                                  "created_at": self.at})
        self.chain.add(self.at, None, "room.created", "room", room_id, {"node_id": node.id, "name": name})
        return room_id

    def person(self, name: str, node: Node, title: str = "") -> int:
        person_id = self._take("person")
        self.rows["person"].append({"id": person_id, "name": name, "title": title, "node_id": node.id,
                                    "username": None, "password_hash": None, "created_at": self.at})
        self.chain.add(self.at, None, "person.created", "person", person_id,
                       {"name": name, "node_id": node.id, "username": None})
        return person_id

    def role(self, person_id: int, role: str, node: Node, room_id: int | None = None) -> None:
        self.rows["role"].append({"id": self._take("role"), "person_id": person_id, "role": Role(role),
                                  "node_id": node.id, "room_id": room_id})
        self.chain.add(self.at, None, "role.assigned", "person", person_id,
                       {"role": role, "node_id": node.id, "room_id": room_id})

    def flush(self) -> None:
        """Write the rows (parents first) and the chain; the services' sequences continue after them."""
        for name in ("node", "room", "person", "role"):
            self.writer.write(_t(self.models[name]), self.rows[name])
            self.rows[name] = []
        self.chain.flush()
        self.writer.reset_sequences([*(_t(model) for model in self.models.values()), _t(AuditEvent)])


Maker = Services | Bulk


def load_org(db: Session, rng: random.Random, accounts: Accounts) -> list[County]:
    """The province's regions, departments, rooms and people: the province, its cities and the first county
    (everyone the benchmark signs in as) through the project's services, the other counties in bulk."""
    services = Services(db)
    province = org.create_node(db=db, code=PROVINCE, name="衡岳省", level="province")
    accounts.province_id = province.id
    province_xfj = org.create_node(db=db, code=f"{PROVINCE}-XFJ", name="省信访局", level="province", kind="department",
                                   parent_id=province.id)
    top = _person(db, rng, "省信访局", province_xfj.id, "coordinator", province.id, username="scale.province")
    accounts.usernames["province"] = top
    for index in range(2):
        leader = people.create_person(db=db, name=_name(rng), title="副省长", node_id=province.id)
        people.assign_role(db=db, person=leader, role="leader", node_id=province.id)
        if index == 0:
            accounts.usernames["province_leader"] = _account(db, leader, "scale.province.leader")
    counties: list[County] = []
    county_serial = 0
    for c in range(CITIES):
        city_code = f"59{c + 1:02d}00"
        city = org.create_node(db=db, code=city_code, name=f"第{c + 1}市", level="city", parent_id=province.id)
        city_xfj = org.create_node(db=db, code=f"{city_code}-XFJ", name=f"第{c + 1}市信访局", level="city",
                                   kind="department", parent_id=city.id)
        username = "scale.city" if c == 0 else None
        person = _person(db, rng, "市信访局", city_xfj.id, "coordinator", city.id, username=username)
        if c == 0:
            accounts.usernames["city"], accounts.city_id = person, city.id
        leader = people.create_person(db=db, name=_name(rng), title="副市长", node_id=city.id)
        people.assign_role(db=db, person=leader, role="leader", node_id=city.id)
        # The city's counties in bulk after what the services wrote (their ids and the audit chain continue it),
        # written before the services write again.
        bulk: Bulk | None = None
        per_city = COUNTIES // CITIES + (1 if c < COUNTIES % CITIES else 0)
        for k in range(per_city):
            if county_serial > 0 and bulk is None:
                writer = Writer(db)
                bulk = Bulk(db, writer, Chain(db, writer, audit._key(db=db)))
            maker: Maker = bulk or services
            counties.append(_county(db, maker, rng, city, f"59{c + 1:02d}{k + 1:02d}", county_serial, accounts))
            county_serial += 1
        if bulk is not None:
            bulk.flush()
    return counties


def _county(db: Session, make: Maker, rng: random.Random, city: Node, code: str, serial: int,
            accounts: Accounts) -> County:
    node = make.node(code, f"{city.name}第{serial + 1}县", "county", city)
    xfj = make.node(f"{code}-XFJ", f"{node.name}信访局", "county", node, kind="department")
    units = [make.node(f"{code}-{suffix}", f"{node.name}{label}", "county", node, kind="department")
             for suffix, label in COUNTY_UNITS]
    first = serial == 0
    coordinator = make.person(_name(rng), xfj, "县信访局干部")
    make.role(coordinator, "coordinator", node)
    leaders = []
    for index, title in enumerate(("县委副书记", "副县长")):
        leader = make.person(_name(rng), node, title)
        make.role(leader, "leader", node)
        leaders.append(leader)
        if first and index == 0:
            accounts.usernames["leader"], accounts.leader_id = _account_of(db, leader, "scale.leader"), leader
    handlers = {}
    for unit in units:
        handler = make.person(_name(rng), unit, "承办人")
        make.role(handler, "handler", unit)
        handlers[unit.id] = handler
        if first and not accounts.usernames.get("handler"):
            accounts.usernames["handler"] = _account_of(db, handler, "scale.handler")
    if first:
        accounts.usernames["county"], accounts.county_id = _account_of(db, coordinator, "scale.county"), node.id
    townships, rooms = [], []
    per_county = TOWNSHIPS // COUNTIES + (1 if serial < TOWNSHIPS % COUNTIES else 0)
    for t in range(per_county):
        township = make.node(f"{code}{t + 1:03d}", f"{node.name}第{t + 1}镇", "township", node)
        room = make.room(township, f"{township.name}视频接访室")
        kiosk = make.person(f"{township.name}接访室", township)
        make.role(kiosk, "room", township, room_id=room)
        secretary = make.person(_name(rng), township, "党委书记")
        make.role(secretary, "leader", township)
        townships.append(township)
        rooms.append(room)
        if first and t == 0:
            accounts.usernames["room"], accounts.room_id = _account_of(db, kiosk, "scale.room"), room
    return County(node, xfj, units, townships, rooms, leaders, coordinator, handlers)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _person(db: Session, rng: random.Random, title: str, node_id: int, role: str, scope: int, *,
            username: str | None) -> str:
    person = people.create_person(db=db, name=_name(rng), title=title, node_id=node_id)
    people.assign_role(db=db, person=person, role=role, node_id=scope)
    return _account(db, person, username) if username else ""


def _account_of(db: Session, person_id: int, username: str) -> str:
    person = db.get(Person, person_id)
    assert person is not None, "only the services' people sign in"
    return _account(db, person, username)


def _account(db: Session, person: Person, username: str) -> str:
    """A sign-in for one of the few people the benchmark acts as (one password hash each)."""
    from vreception.auth.passwords import hash_password

    person.username, person.password_hash = username, hash_password(PASSWORD)
    db.flush()
    return username


@dataclass
class Clock:
    """Local working-hour instants and due days, computed once per day."""

    calendar: WorkCalendar
    due_cache: dict[tuple[date, str], date] = field(default_factory=dict)

    def due(self, start: date, kind: str) -> date:
        key = (start, kind)
        if key not in self.due_cache:
            rule = RULES[kind]
            self.due_cache[key] = self.calendar.due(start, rule.days, working_days=rule.working_days).day
        return self.due_cache[key]


def local(day: date, minute: int) -> datetime:
    """DAY at MINUTE past 08:30 local, as an aware UTC-convertible instant."""
    return datetime(day.year, day.month, day.day, 8, 30, tzinfo=ZONE) + timedelta(minutes=minute)


class Chain:
    """Audit events appended after the chain's head, hashed as audit.record hashes them."""

    def __init__(self, db: Session, writer: Writer, key: bytes | None):
        head = db.get(AuditHead, 1)
        assert head is not None
        self.db, self.writer, self.key, self.head = db, writer, key, head
        self.seq, self.hash = head.seq, head.hash
        self.next_id = writer.next_id(_t(AuditEvent))
        self.rows: list[dict[str, Any]] = []

    def add(self, at: datetime, actor_id: int | None, action: str, entity_type: str, entity_id: int,
            data: dict[str, Any]) -> None:
        self.seq += 1
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
        at = at.astimezone(ZoneInfo("UTC"))
        digest = audit.event_hash(self.hash, audit._body(self.seq, at, actor_id, action, entity_type,
                                                         str(entity_id), payload), self.key)
        self.rows.append({"id": self.next_id, "seq": self.seq, "at": at, "actor_id": actor_id, "action": action,
                          "entity_type": entity_type, "entity_id": str(entity_id), "data": payload,
                          "prev_hash": self.hash, "hash": digest})
        self.next_id += 1
        self.hash = digest
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        self.writer.write(_t(AuditEvent), self.rows)
        self.rows = []
        self.head.seq, self.head.hash = self.seq, self.hash
        self.db.flush()


def load_matters(db: Session, *, matters: int, secret: str, today: date, rng: random.Random, counties: list[County],
                 accounts: Accounts, log: Callable[[str], None] = print) -> dict[str, int]:
    """N matters over the two years before TODAY with their petitioners, demands, deadlines, events, tasks, sessions."""
    protector = Protector(secret)
    writer = Writer(db)
    chain = Chain(db, writer, audit._key(db=db))
    clock = Clock(load_calendar(db=db))
    ids = {name: writer.next_id(_t(model)) for name, model in (
        ("matter", Matter), ("petitioner", Petitioner), ("demand", Demand), ("deadline", Deadline),
        ("event", MatterEvent), ("task", Task), ("session", ReceptionSession), ("participant", Participant),
        ("session_event", SessionEvent))}
    buffers: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "matter", "petitioner", "link", "demand", "deadline", "event", "task", "session", "participant",
        "session_event")}
    tables = {"matter": _t(Matter), "petitioner": _t(Petitioner), "link": _t(MatterPetitioner),
              "demand": _t(Demand), "deadline": _t(Deadline), "event": _t(MatterEvent), "task": _t(Task),
              "session": _t(ReceptionSession), "participant": _t(Participant), "session_event": _t(SessionEvent)}
    # Parents before children: the flush order follows the foreign keys.
    order = ("petitioner", "matter", "link", "demand", "deadline", "event", "task", "session", "participant",
             "session_event")
    # A big load commits as it goes, its indexes dropped in a committed step of their own: no lock is held for hours
    # (a DROP INDEX holds its table's exclusive lock to the end of the transaction, and everyone's ANALYZE waits).
    big = writer.postgres and matters >= DEFER_INDEXES_AT
    if big:
        db.commit()
    rebuild = deferred_indexes(db, [*tables.values(), _t(AuditEvent)]) if big else None
    if big:
        db.commit()
    serials: dict[tuple[int, int], int] = {}
    channels = [c for c, _ in CHANNELS]
    weights = [w for _, w in CHANNELS]
    started = time.monotonic()
    known_code = KNOWN_CODE
    taken: set[str] = set()
    now_utc = local(today, 0)

    def take(name: str) -> int:
        value = ids[name]
        ids[name] += 1
        return value

    def flush_all() -> None:
        chain.flush()
        for name in order:
            writer.write(tables[name], buffers[name])
            buffers[name] = []

    for index in range(matters):
        county = counties[rng.randrange(len(counties))]
        township = county.townships[rng.randrange(len(county.townships))]
        unit = county.units[rng.randrange(len(county.units))] if rng.random() < 0.75 else county.xfj
        age = int(rng.triangular(0, 730, 0))  # more recent matters than old ones
        day = today - timedelta(days=age)
        received = local(day, rng.randrange(0, 480))
        channel = rng.choices(channels, weights)[0]
        matter_id, person_id = take("matter"), take("petitioner")
        female = rng.random() < 0.45
        born = date(rng.randrange(1950, 2000), rng.randrange(1, 13), rng.randrange(1, 29))
        number_text = id_number(rng, county.node.code, born, female)
        while number_text in taken:  # one person, one ID number
            number_text = id_number(rng, county.node.code, born + timedelta(days=rng.randrange(1, 365)), female)
        taken.add(number_text)
        phone = f"1{rng.choice('3589')}{index:09d}"
        buffers["petitioner"].append({
            "id": person_id, "name": _name(rng), "id_hash": protector.lookup_hash(number_text),
            "id_cipher": protector.encrypt(number_text), "id_tail": number_text[-4:],
            "phone_cipher": protector.encrypt(phone), "phone_tail": phone[-4:], "created_at": received,
            "kind": "citizen", "address_cipher": ""})
        year = day.year
        serials[(unit.id, year)] = serial = serials.get((unit.id, year), 0) + 1
        number = f"{unit.code}-{year}-{serial:05d}"
        code = known_code if index == 0 else f"Q{index:09d}"
        category = CATEGORIES[rng.randrange(len(CATEGORIES))]
        row: dict[str, Any] = {
            "id": matter_id, "number": number, "query_code_hash": protector.lookup_hash(code),
            "origin_node_id": township.id, "handling_node_id": unit.id, "handling_path": unit.path,
            "holding_node_id": None, "transferred_from_node_id": None, "transferred_at": None,
            "channel": channel, "state": "registered", "outcome": None, "is_group": False, "possible_repeat": False,
            "owner_leader_id": county.leaders[0] if rng.random() < 0.2 else None, "extended": False,
            "hearing_started_at": None, "hearing_days": 0, "rating": None, "received_at": received,
            "registered_at": received, "registered_by": county.coordinator, "decided_at": None,
            "accepted_at": None, "replied_at": None, "served_at": None, "rated_at": None,
            "review_requested_at": None, "closed_at": None, "facts": "", "accused_text": "",
            "accused_node_id": None, "people_count": 1, "accusation": False, "confidential": False,
            "hidden_from_path": None}
        if index == 0:
            accounts.lookup_number, accounts.lookup_code = number, code
        buffers["link"].append({"matter_id": matter_id, "petitioner_id": person_id, "position": 0,
                                "representative": False})
        for position in range(1 if rng.random() < 0.7 else 2):
            kind = category if position == 0 else CATEGORIES[rng.randrange(len(CATEGORIES))]
            buffers["demand"].append({"id": take("demand"), "matter_id": matter_id, "position": position,
                                      "summary": SUMMARIES[kind].format(rng.randrange(2, 30)), "category": kind,
                                      "legal_channel": None, "outcome": None})
        events: list[tuple[str, str | None, str, datetime]] = [("register", None, "registered", received)]
        chain.add(received, county.coordinator, "matter.registered", "matter", matter_id,
                  {"number": number, "handling_node_id": unit.id, "petitioners": 1})
        _life(rng, clock, row, buffers, take, chain, events, received, now_utc, county, unit)
        for action, before, after, at in events:
            buffers["event"].append({"id": take("event"), "matter_id": matter_id, "at": at,
                                     "actor_id": county.coordinator, "action": action, "from_state": before,
                                     "to_state": after, "reason": "", "data": "{}"})
        buffers["matter"].append(row)
        if channel == "video" and rng.random() < 0.6:
            _session(rng, buffers, take, chain, row, county, township, now_utc)
        if (index + 1) % CHUNK == 0:
            flush_all()
            if big:
                db.commit()
            if (index + 1) % (CHUNK * 20) == 0:
                elapsed = time.monotonic() - started
                log(f"# scale: {index + 1:,} matters ({(index + 1) / elapsed:,.0f}/s, "
                    f"{sum(writer.counts.values()) / elapsed:,.0f} rows/s)")
    flush_all()
    elapsed = time.monotonic() - started
    log(f"# scale: {matters:,} matters written in {elapsed:.0f} s ({matters / elapsed:,.0f} matters/s, "
        f"{sum(writer.counts.values()) / elapsed:,.0f} rows/s)")
    if rebuild is not None:
        db.commit()
        begun = time.monotonic()
        rebuild()
        db.commit()
        log(f"# scale: indexes rebuilt in {time.monotonic() - begun:.0f} s")
    _counters(db, serials)
    writer.reset_sequences([*tables.values(), _t(AuditEvent)])
    return writer.counts


def _life(rng: random.Random, clock: Clock, row: dict[str, Any], buffers: dict[str, list[dict[str, Any]]],
          take: Callable[[str], int], chain: Chain, events: list[tuple[str, str | None, str, datetime]],
          received: datetime, now_utc: datetime, county: County, unit: Node) -> None:
    """The matter's life up to today: acceptance, handling, reply, service, rating, review or close."""
    matter_id = row["id"]
    start = received.astimezone(ZONE).date()

    def deadline(kind: str, begin: date, state: str, done: datetime | None) -> None:
        buffers["deadline"].append({"id": take("deadline"), "matter_id": matter_id, "kind": kind, "start_day": begin,
                                    "due_day": clock.due(begin, kind), "provisional": False, "extra_days": 0,
                                    "state": state, "done_at": done})

    def step(action: str, before: str, after: str, at: datetime) -> None:
        events.append((action, before, after, at))
        chain.add(at, county.coordinator, f"matter.{action}", "matter", matter_id, {"from": before, "to": after})
        row["state"] = after

    accepted = received + timedelta(days=rng.choice((1, 2, 3, 5, 7, 10, 14, 14, 16)), hours=1)
    if accepted >= now_utc:
        deadline("acceptance", start, "open", None)
        return
    late = accepted.astimezone(ZONE).date() > clock.due(start, "acceptance")
    deadline("acceptance", start, "missed" if late else "met", accepted)
    if rng.random() < 0.06:
        row.update(outcome="not_accepted", decided_at=accepted, closed_at=accepted)
        step("refuse", "registered", "closed", accepted)
        return
    row.update(accepted_at=accepted, decided_at=accepted)
    step("accept", "registered", "accepted", accepted)
    begin = accepted.astimezone(ZONE).date()
    for position in range(rng.choice((1, 2, 2, 3, 3, 4))):
        due = accepted + timedelta(days=rng.randrange(7, 45))
        done = due - timedelta(days=rng.randrange(-5, 6))
        state = "closed" if done < now_utc else rng.choice(("assigned", "accepted", "in_progress", "reported"))
        buffers["task"].append({"id": take("task"), "matter_id": matter_id, "session_id": None,
                                "unit_node_id": unit.id, "unit_path": unit.path, "title": f"核实情况（{position + 1}）",
                                "detail": "", "due_at": due, "state": state, "created_by": county.coordinator,
                                "created_at": accepted, "feedback": "", "reported_at": done if state == "closed" else None,
                                "verified_at": done if state == "closed" else None,
                                "closed_at": done if state == "closed" else None, "note": ""})
    replied = accepted + timedelta(days=rng.choice((20, 30, 40, 50, 55, 58, 59, 62)))
    if replied >= now_utc:
        deadline("handling", begin, "open", None)
        return
    late = replied.astimezone(ZONE).date() > clock.due(begin, "handling")
    deadline("handling", begin, "missed" if late else "met", replied)
    row.update(replied_at=replied, outcome=rng.choice(("support", "explain", "not_support")))
    step("reply", "accepted", "replied", replied)
    served = replied + timedelta(days=rng.randrange(1, 5))
    if served >= now_utc:
        return
    row["served_at"] = served
    step("serve", "replied", "served", served)
    window = served.astimezone(ZONE).date()
    rated = served + timedelta(days=rng.randrange(1, 20))
    if rated < now_utc and rng.random() < 0.7:
        row.update(rating=rng.choices(("satisfied", "basically_satisfied", "unsatisfied"), (70, 20, 10))[0],
                   rated_at=rated)
    if rng.random() < 0.08:
        requested = served + timedelta(days=rng.randrange(3, 28))
        if requested < now_utc:
            deadline("review_request", window, "met", requested)
            row.update(review_requested_at=requested)
            step("request_review", "served", "review_requested", requested)
            deadline("review_decision", requested.astimezone(ZONE).date(), "open", None)
            return
    review_due = clock.due(window, "review_request")
    if local(review_due, 600) < now_utc:
        closed = local(review_due + timedelta(days=1), 60)
        if closed < now_utc:
            deadline("review_request", window, "met", closed)
            row["closed_at"] = closed
            step("close", "served", "closed", closed)
            return
    deadline("review_request", window, "open", None)


def _session(rng: random.Random, buffers: dict[str, list[dict[str, Any]]], take: Callable[[str], int], chain: Chain,
             row: dict[str, Any], county: County, township: Node, now_utc: datetime) -> None:
    """A video reception of the matter by a county leader in the township's room (held, or a no-show)."""
    starts = row["received_at"] + timedelta(days=rng.randrange(1, 10))
    starts = starts.replace(minute=0 if starts.minute < 30 else 30, second=0, microsecond=0)
    if starts >= now_utc:
        return
    session_id = take("session")
    leader = county.leaders[rng.randrange(len(county.leaders))]
    state = "ended" if rng.random() < 0.9 else "no_show"
    buffers["session"].append({
        "id": session_id, "kind": "reception", "state": state, "leader_id": leader, "matter_id": row["id"],
        "plan_id": None, "node_path": county.node.path, "starts_at": starts, "ends_at": starts + timedelta(minutes=30),
        "buffer_minutes": 0, "ad_hoc": False, "invited": False, "recorded": True, "reason": "", "override_reason": "",
        "booked_by": county.coordinator, "booked_at": starts - timedelta(days=1), "version": 0})
    room = county.rooms[county.townships.index(township)]
    for role, person, room_id, path in (("leader", leader, None, county.node.path),
                                        ("room", None, room, township.path), ("petitioner", None, None, "")):
        buffers["participant"].append({"id": take("participant"), "session_id": session_id, "role": role,
                                       "person_id": person, "room_id": room_id, "name": "", "node_path": path})
    history = "no_show" if state == "no_show" else "state:ended"
    for action, audited, at in (("booked", "session.booked", starts - timedelta(days=1)),
                                (history, f"session.{state}", starts + timedelta(minutes=30))):
        buffers["session_event"].append({"id": take("session_event"), "session_id": session_id, "at": at,
                                         "actor_id": county.coordinator, "action": action, "starts_at": starts,
                                         "ends_at": starts + timedelta(minutes=30)})
        chain.add(at, county.coordinator, audited, "session", session_id, {"matter_id": row["id"]})


def _counters(db: Session, serials: dict[tuple[int, int], int]) -> None:
    """Matter numbering continues after the generated ones (register() takes the next value)."""
    from vreception.models import Counter

    rows = [{"scope": f"matter:{unit}", "year": year, "value": value} for (unit, year), value in serials.items()]
    for batch in _chunks(rows):
        db.execute(insert(_t(Counter)), batch)


def build(db: Session, *, matters: int, secret: str, today: date, seed: int = 16,
          log: Callable[[str], None] = print) -> tuple[Accounts, dict[str, int]]:
    """The whole province with MATTERS matters into an empty migrated database (the caller's transaction)."""
    rng = random.Random(seed)
    accounts = Accounts()
    started = time.monotonic()
    counties = load_org(db, rng, accounts)
    log(f"# scale: organisation loaded in {time.monotonic() - started:.1f} s")
    counts = load_matters(db, matters=matters, secret=secret, today=today, rng=rng, counties=counties,
                          accounts=accounts, log=log)
    # The chain was computed whole here: its head is signed as verified, so a daily verify starts from it.
    head = db.get(AuditHead, 1)
    assert head is not None
    if audit._key(db=db) is not None:
        checkpoints.write(db=db, seq=head.seq, digest=head.hash)
    return accounts, counts
