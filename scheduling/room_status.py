"""A room kiosk reporting in: its heartbeat (an UPSERT, at most one write per room every few seconds) and the
outcome of its device self-test."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from scheduling.access import room_ids_of
from vreception import audit
from vreception.auth.access import Principal
from vreception.errors import Forbidden
from vreception.models.network import RoomStatus

# A kiosk beats every 30 s; writes closer together than this are dropped, so a stuck or hostile page costs little.
HEARTBEAT_MIN_GAP = timedelta(seconds=10)
CHECKS = ("camera", "microphone", "speaker", "network")
CLIENT_LENGTH = 200


class SelfTestIn(BaseModel):
    """What the self-test page found: each check passed (true), failed (false) or was not run (null)."""

    camera: bool | None = None
    microphone: bool | None = None
    speaker: bool | None = None
    network: bool | None = None
    network_ms: int | None = Field(default=None, ge=0, le=600_000, description="median round trip to the server")
    detail: str = Field(default="", max_length=300, description="the browser's own words for a failure")

    def failed(self) -> list[str]:
        """The checks that failed, in a fixed order."""
        return [name for name in CHECKS if getattr(self, name) is False]


def require_own_room(principal: Principal, room_id: int) -> None:
    """Only the room's own kiosk account reports for it."""
    if room_id not in room_ids_of(principal):
        raise Forbidden()


def own_rooms(principal: Principal) -> list[int]:
    """The rooms the kiosk account stands for; Forbidden for any other account."""
    rooms = sorted(room_ids_of(principal))
    if not rooms:
        raise Forbidden()
    return rooms


def _upsert(*, db: Session, **values: object) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of a room_status row that can turn into an update (ON CONFLICT) on either engine."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    return insert(RoomStatus).values(**values)


def heartbeat(*, db: Session, room_id: int, at: datetime, client: str = "") -> bool:
    """Mark ROOM_ID seen at AT (the server's clock); False when a beat was written less than the gap ago."""
    table = RoomStatus.__table__
    values = {"last_seen_at": at, "client": client[:CLIENT_LENGTH]}
    statement = _upsert(db=db, room_id=room_id, self_test_failed="", self_test_detail="", **values)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.room_id], set_=values,
        where=or_(table.c.last_seen_at.is_(None), table.c.last_seen_at <= at - HEARTBEAT_MIN_GAP))
    # RETURNING names the row only when it was inserted or updated (both engines; rowcount is not portable here).
    return db.execute(statement.returning(table.c.room_id)).first() is not None


def record_self_test(*, db: Session, room_id: int, result: SelfTestIn, at: datetime,
                     actor_id: int | None) -> RoomStatus:
    """Keep RESULT as the room's last self-test (audited: a failed room is one the office acts on)."""
    status = db.get(RoomStatus, room_id)
    if status is None:
        status = RoomStatus(room_id=room_id, client="")
        db.add(status)
    failed = result.failed()
    status.self_test_at = at
    status.self_test_ok = not failed
    status.self_test_failed = ",".join(failed)
    status.self_test_detail = result.detail
    db.flush()
    audit.record(db=db, action="room.self_test", entity_type="room", entity_id=room_id, actor_id=actor_id,
                 data={"ok": not failed, "failed": failed, "network_ms": result.network_ms})
    return status
