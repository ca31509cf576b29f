"""Who may see or act on a matter (信访事项): the one rule the API, the pages and the call page share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, SQLColumnExpression, and_, exists, false, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

from vreception.auth.access import Principal, covers, require, subtree_filter
from vreception.cases import confidential
from vreception.errors import Forbidden, NotFound
from vreception.models import Document, Matter, Node, Person, Role, Task
from vreception.models.hearings import Hearing, HearingState
from vreception.models.scheduling import ReceptionSession, SessionState

# The office handling a matter acts on it; its leaders read it and assign follow-up tasks.
OFFICE = (Role.coordinator,)
READERS = (Role.coordinator, Role.leader)
ASSIGNERS = (Role.coordinator, Role.leader)
# From the decision to hold a hearing until its conclusion, its chair and recorder read the matter. The panel
# (often outside lawyers and deputies) does not: it reads the case file on its own page (hearings/record.py).
HEARING_FILE_OPEN = (HearingState.decided, HearingState.noticed, HearingState.in_session, HearingState.held)


def _node(node_id: int, *, db: Session) -> Node:
    # The identity map holds objects weakly: a node nobody keeps was loaded again by every access check of a
    # page (ten times on the matter page). The request's session keeps the nodes it has read.
    kept: dict[int, Node] = db.info.setdefault("access_nodes", {})
    node = kept.get(node_id)
    if node is None:
        node = db.get(Node, node_id)
        assert node is not None  # a foreign key
        kept[node_id] = node
    return node


def handling_node(matter: Matter, *, db: Session) -> Node:
    """The node of the body handling the matter now."""
    return _node(matter.handling_node_id, db=db)


def _unit_paths(principal: Principal) -> list[str]:
    return [s.path for s in principal.scopes if s.role is Role.handler]


def _receives(principal: Principal) -> ColumnElement[bool]:
    # The leader booked to receive the petitioner reads the case file beside the video.
    return exists(select(ReceptionSession.id).where(ReceptionSession.matter_id == Matter.id,
                                                    ReceptionSession.leader_id == principal.person_id,
                                                    ReceptionSession.state != SessionState.cancelled))


def _runs_hearing(principal: Principal) -> ColumnElement[bool]:
    # The chair and the recorder of a hearing on the matter, while it runs.
    me = principal.person_id
    return exists(select(Hearing.id).where(and_(Hearing.matter_id == Matter.id, Hearing.state.in_(HEARING_FILE_OPEN),
                                                or_(Hearing.chair_id == me, Hearing.recorder_id == me))))


def can_read(principal: Principal, matter: Matter, *, db: Session) -> bool:
    """Office roles over the handling node, the office that transferred it away, the owning or receiving leader, a
    unit with a task on it, or the chair and recorder of a hearing on it between its decision and its conclusion;
    never the unit an accusation accuses."""
    if confidential.accused_unit_excluded(principal, matter):
        return False
    if covers(principal, handling_node(matter, db=db), READERS) or matter.owner_leader_id == principal.person_id:
        return True
    if matter.transferred_from_node_id is not None:
        sender = db.get(Node, matter.transferred_from_node_id)
        if sender is not None and covers(principal, sender, OFFICE):
            return True
    if principal.has_role(Role.leader) and db.scalar(select(_receives(principal)).where(Matter.id == matter.id)):
        return True
    if db.scalar(select(_runs_hearing(principal)).where(Matter.id == matter.id)):
        return True
    units = _unit_paths(principal)
    if units:
        paths = db.scalars(select(Task.unit_path).where(Task.matter_id == matter.id))
        return any(p.startswith(u) for p in paths for u in units)
    return False


def among(column: SQLColumnExpression[Any], *ids: Select[Any]) -> ColumnElement[bool]:
    """COLUMN is one of the values the selects IDS yield (each uncorrelated): an index can take it inside an OR."""
    chosen = [s.correlate(None) for s in ids]
    if not chosen:
        return false()
    return _Among(column, (chosen[0] if len(chosen) == 1 else union_all(*chosen)).scalar_subquery())


def broad(path: str) -> bool:
    """Whether a subtree is a province's or a city's ("/1/", "/1/3/"): its readers' lists hold most rows, which a
    walk of the list's ordering index finds sooner than an array of every id."""
    return path.count("/") <= 3


class _Among(ColumnElement[bool]):
    # `column IN (subquery)` inside an OR is a hashed SubPlan that PostgreSQL evaluates row by row over a sequential
    # scan. `column = ANY(ARRAY(subquery))` is an InitPlan run once whose array a (bitmap) index scan takes, so the
    # arms of an OR combine through their indexes (BitmapOr). SQLite has no arrays and plans IN arms itself.
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a comparison: no "= 1" on SQLite
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("ids", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: SQLColumnExpression[Any], ids: ColumnElement[Any]) -> None:
        self.column, self.ids = column, ids


@compiles(_Among)
def _among_in(element: _Among, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} IN {compiler.process(element.ids, **kw)}"


@compiles(_Among, "postgresql")
def _among_any(element: _Among, compiler: Any, **kw: Any) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY(ARRAY{compiler.process(element.ids, **kw)})"


def readable(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on Matter: the matters the principal may read (same rule as can_read).

    Every arm is a condition an index of matters answers (the handling path's pattern index, the owner, the primary
    key, the sending node), so PostgreSQL combines them (BitmapOr) or walks an ordering index, never the whole table.
    """
    me = principal.person_id
    ids: list[Select[Any]] = [select(Hearing.matter_id).where(Hearing.state.in_(HEARING_FILE_OPEN),
                                           or_(Hearing.chair_id == me, Hearing.recorder_id == me))]
    if principal.has_role(Role.leader):
        ids.append(select(ReceptionSession.matter_id).where(ReceptionSession.leader_id == me,
                                                            ReceptionSession.state != SessionState.cancelled,
                                                            ReceptionSession.matter_id.is_not(None)))
    units = _unit_paths(principal)
    if units:
        ids.append(select(Task.matter_id).where(or_(*[Task.unit_path.startswith(u, autoescape=True) for u in units])))
    return and_(confidential.not_accused(principal),
                or_(subtree_filter(principal, Matter.handling_path, READERS), Matter.owner_leader_id == me,
                    among(Matter.id, *ids), _sent_it(principal)))


def _sent_it(principal: Principal) -> ColumnElement[bool]:
    # The office that transferred or assigned the matter away still reads it: it answers an objection (Art. 23) and
    # verifies the completion report (交办), even when the receiving body lies outside its subtree.
    if not principal.paths_for(OFFICE):
        return false()
    return among(Matter.transferred_from_node_id, select(Node.id).where(subtree_filter(principal, Node.path, OFFICE)))


def is_office(principal: Principal, matter: Matter, *, db: Session) -> bool:
    """Whether the principal is a coordinator of the body handling the matter (moves it, sees IDs in full)."""
    return covers(principal, handling_node(matter, db=db), OFFICE)


def is_assigner(principal: Principal, matter: Matter, *, db: Session) -> bool:
    """Whether the principal may assign follow-up tasks on the matter (coordinators and leaders over it)."""
    return covers(principal, handling_node(matter, db=db), ASSIGNERS)


def load(matter_id: int, *, db: Session) -> Matter:
    """A matter by id, or NotFound."""
    matter = db.get(Matter, matter_id)
    if matter is None:
        raise NotFound("error.matter_not_found", id=matter_id)
    return matter


def load_readable(principal: Principal, matter_id: int, *, db: Session) -> Matter:
    """The matter if the principal may read it; NotFound or Forbidden otherwise."""
    matter = load(matter_id, db=db)
    if not can_read(principal, matter, db=db):
        raise Forbidden()
    return matter


def load_readable_document(principal: Principal, document_id: int, *, db: Session) -> Document:
    """A notice (文书) whose matter the principal may read; NotFound or Forbidden otherwise."""
    document = db.get(Document, document_id)
    if document is None:
        raise NotFound("error.document_not_found", id=document_id)
    load_readable(principal, document.matter_id, db=db)
    return document


def require_office(principal: Principal, matter: Matter, *, db: Session) -> None:
    """Forbidden unless the principal is of the office handling the matter."""
    require(principal, handling_node(matter, db=db), OFFICE)


def require_assigner(principal: Principal, matter: Matter, *, db: Session) -> None:
    """Forbidden unless the principal may assign tasks on the matter."""
    require(principal, handling_node(matter, db=db), ASSIGNERS)


def require_unit_within_office(principal: Principal, unit: Node, *, db: Session) -> None:
    """A task goes only to a unit inside the assigning person's own subtree (coordinator or leader there)."""
    require(principal, unit, ASSIGNERS)


# Decided by the body one level up (Arts. 35, 36): its own coordinators, not those of a body above or below it.
REVIEWING_ACTIONS = ("review_reply", "recheck_reply")
# The assigning office (交办) verifies the completion report or sends it back.
ASSIGNING_OFFICE_ACTIONS = ("verify_completion", "return_completion")


def holding_node(matter: Matter, *, db: Session) -> Node:
    """The body holding the matter now: the 复查 or 复核 body while it reviews, else the handling body."""
    return _node(matter.holding_node_id or matter.handling_node_id, db=db)


def require_action(principal: Principal, matter: Matter, action: str, params: dict[str, Any], *, db: Session) -> None:
    """Forbidden unless the principal's office may take ACTION on the matter and covers whom the action names."""
    if action in REVIEWING_ACTIONS:
        body = holding_node(matter, db=db)
        if not any(s.role in OFFICE and s.node_id == body.id for s in principal.scopes):
            raise Forbidden()
        return
    if action in ASSIGNING_OFFICE_ACTIONS and matter.transferred_from_node_id is not None:
        office = db.get(Node, matter.transferred_from_node_id)
        assert office is not None  # a foreign key
        require(principal, office, OFFICE)
        return
    if action == "report_completion":
        # The unit the matter was assigned to reports, or an office over it.
        require(principal, handling_node(matter, db=db), (*OFFICE, Role.handler))
        return
    require_office(principal, matter, db=db)
    if action == "set_owner" and isinstance(params.get("leader_id"), int):
        # An office may make only its own leaders own a matter (领导包案), not any leader in the province.
        leader = db.get(Person, params["leader_id"])
        if leader is not None:
            require(principal, leader.node, OFFICE)
