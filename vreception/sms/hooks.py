"""Where the services call the outbox: registration, a booked/moved/cancelled reception, a served notice.

Each hook queues one message per petitioner of the matter who has a phone; it never refuses the service's own
change (a message too long for MAX_PARTS is a bug in a template, caught by the tests, not the petitioner's).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from vreception.cases.identity import Protector
from vreception.config import get_settings
from vreception.i18n import translate
from vreception.models import Document, Matter, Person, Room
from vreception.models.scheduling import ReceptionSession, SessionKind
from vreception.sms.outbox import queue
from vreception.sms.settings import SmsSettings, sms_settings


def lookup_place(settings: SmsSettings) -> str:
    """Where the petitioner looks the matter up: the configured public URL's /lookup, or words for it."""
    base = settings.public_url.rstrip("/")
    return f"{base}/lookup" if base else translate("sms.lookup_place")


def local_time(moment: datetime) -> str:
    """11月23日 09:30, in the platform's time zone (what the petitioner reads on the phone)."""
    local = moment.astimezone(ZoneInfo(get_settings().time_zone))
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def local_date(moment: datetime) -> str:
    local = moment.astimezone(ZoneInfo(get_settings().time_zone))
    return f"{local.year}年{local.month}月{local.day}日"


def _to_petitioners(matter: Matter, template: str, *, db: Session, session_id: int | None = None,
                    protector: Protector | None = None, actor_id: int | None = None, **params: object) -> int:
    settings = sms_settings()
    count = 0
    for link in matter.petitioner_links:
        person = link.petitioner
        if not person.phone_cipher:
            continue
        queue(db=db, template=template, phone_cipher=person.phone_cipher, phone_tail=person.phone_tail,
              settings=settings, matter_id=matter.id, session_id=session_id, petitioner_id=person.id,
              protector=protector, actor_id=actor_id, number=matter.number, **params)
        count += 1
    return count


def registered(*, db: Session, matter: Matter, code: str, protector: Protector, actor_id: int | None = None) -> int:
    """The matter number and its query code (shown once on screen, sent once by SMS, stored encrypted until sent)."""
    return _to_petitioners(matter, "registered", db=db, protector=protector, actor_id=actor_id, code=code,
                           url=lookup_place(sms_settings()))


def leader_title(booking: ReceptionSession, *, db: Session) -> str:
    """The receiving leader by title, not name (县长, 副局长 …): what the published reception schedule gives."""
    leader = db.get(Person, booking.leader_id)
    return (leader.title if leader and leader.title else "") or translate("sms.leader_default")


def room_names(booking: ReceptionSession, *, db: Session) -> str:
    rooms = [db.get(Room, p.room_id) for p in booking.participants if p.room_id is not None]
    return "、".join(sorted({r.name for r in rooms if r is not None})) or "—"


def session_changed(*, db: Session, booking: ReceptionSession, change: str, actor_id: int | None = None) -> int:
    """A reception of a matter was booked, rescheduled or cancelled (CHANGE): tell its petitioners."""
    if booking.matter_id is None or booking.kind is not SessionKind.reception:
        return 0
    matter = db.get(Matter, booking.matter_id)
    assert matter is not None  # a foreign key of the session
    return _to_petitioners(matter, f"reception_{change}", db=db, session_id=booking.id, actor_id=actor_id,
                           when=local_time(booking.starts_at), room=room_names(booking, db=db),
                           leader=leader_title(booking, db=db))


def served(*, db: Session, matter: Matter, document: Document, actor_id: int | None = None) -> int:
    """A notice was served: say which and when; a served reply also invites the petitioner to rate it."""
    from vreception.documents import KINDS

    date = local_date(document.served_at or document.issued_at)
    if document.kind == "hearing_notice":
        count = _to_petitioners(matter, "hearing_notice", db=db, actor_id=actor_id, date=date)
    else:
        count = _to_petitioners(matter, "notice_served", db=db, actor_id=actor_id, title=KINDS[document.kind][0],
                                date=date, url=lookup_place(sms_settings()))
    if document.kind == "reply_opinion":
        count += _to_petitioners(matter, "rating", db=db, actor_id=actor_id, days=get_settings().rating_window_days,
                                 url=lookup_place(sms_settings()))
    return count
