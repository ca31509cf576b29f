"""The paper a petitioner keeps: the 登记回执 (with the query code only when printed at registration) and the
预约接访通知书 of a booked reception, rendered to PDF on request and never stored."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from vreception import audit
from vreception.cases.identity import Protector
from vreception.documents import chinese_date
from vreception.errors import Invalid
from vreception.models import Deadline, Matter, Node
from vreception.models.scheduling import ReceptionSession
from vreception.sms.hooks import leader_title, local_time, lookup_place, room_names
from vreception.sms.settings import sms_settings

CHANNELS = {"visit": "来访", "video": "视频来访", "letter": "来信", "phone": "来电", "online": "网上信访"}
_env = Environment(loader=FileSystemLoader(Path(__file__).parents[1] / "documents" / "templates"),
                   autoescape=select_autoescape(["html"]))


def check_code(protector: Protector, matter: Matter, code: str) -> str:
    """The query code, normalised, if it is this matter's (Invalid otherwise)."""
    cleaned = "".join((code or "").split()).upper()
    if not cleaned or protector.lookup_hash(cleaned) != matter.query_code_hash:
        raise Invalid("error.receipt_code", field="code")
    return cleaned


def receipt_html(*, db: Session, matter: Matter, code: str | None) -> str:
    """The registration receipt; CODE only in the copy printed right after registering."""
    office = db.get(Node, matter.handling_node_id)
    acceptance = db.scalar(select(Deadline).where(Deadline.matter_id == matter.id, Deadline.kind == "acceptance"))
    return _env.get_template("registration_receipt.html").render(
        title="信访事项登记回执", number=matter.number, office=office.name if office else "",
        issued=chinese_date(matter.registered_at), received=chinese_date(matter.received_at),
        channel=CHANNELS.get(matter.channel.value, matter.channel.value),
        petitioners=[link.petitioner.name for link in matter.petitioner_links], people_count=matter.people_count,
        demands=[d.summary for d in matter.demands], code=code,
        acceptance_due=f"{acceptance.due_day.year}年{acceptance.due_day.month}月{acceptance.due_day.day}日"
        if acceptance else "", lookup=lookup_place(sms_settings()))


def reception_notice_html(*, db: Session, booking: ReceptionSession) -> str:
    """The 预约接访通知书 of a reception booked on a matter."""
    matter = db.get(Matter, booking.matter_id) if booking.matter_id is not None else None
    if matter is None:
        raise Invalid("error.session_has_no_matter", field="session_id")
    office = db.get(Node, matter.handling_node_id)
    return _env.get_template("reception_notice.html").render(
        title="预约接访通知书", number=matter.number, office=office.name if office else "",
        issued=chinese_date(booking.booked_at), petitioners=[link.petitioner.name for link in matter.petitioner_links],
        when=local_time(booking.starts_at), ends=local_time(booking.ends_at)[-5:], room=room_names(booking, db=db),
        leader=leader_title(booking, db=db), state=booking.state.value, lookup=lookup_place(sms_settings()))


def receipt_printed(*, db: Session, matter: Matter, with_code: bool, actor_id: int | None) -> None:
    """Audit a receipt handed to the petitioner (with the code: right after registering)."""
    audit.record(db=db, action="matter.receipt_printed", entity_type="matter", entity_id=matter.id, actor_id=actor_id,
                 data={"with_code": with_code})


def pdf(html: str) -> bytes:
    """HTML as PDF (WeasyPrint, as the notices)."""
    from weasyprint import HTML

    data: bytes = HTML(string=html).write_pdf()
    return data
