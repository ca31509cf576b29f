"""The booking policy from settings, and conversions between UTC and the plans' local time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from vreception.config import Settings, get_settings
from vreception.errors import Invalid


@dataclass(frozen=True)
class Policy:
    """The scheduling settings every service needs."""

    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    cutoff_hour: int = 17
    cutoff_days_before: int = 1
    quantum: timedelta = timedelta(minutes=5)
    max_session: timedelta = timedelta(minutes=240)
    no_show_grace: timedelta = timedelta(minutes=15)
    call_open_lead: timedelta = timedelta(minutes=30)
    reminder_leads: tuple[timedelta, ...] = (timedelta(days=1), timedelta(hours=1))
    feed_ttl: timedelta = timedelta(days=365)
    join_ttl: timedelta = timedelta(minutes=15)
    # The hearing procedure: its notice period, when its conclusion falls due, and how deadlines end on holidays.
    hearing_notice_days: int = 7
    hearing_conclusion_days: int = 15
    hearing_panel_sizes: tuple[int, ...] = (3, 5)
    deadline_moves_off_holidays: bool = True


def policy_from(settings: Settings | None = None) -> Policy:
    """The policy of SETTINGS (the process settings when None)."""
    s = settings or get_settings()
    return Policy(
        zone=ZoneInfo(s.time_zone), cutoff_hour=s.booking_cutoff_hour, cutoff_days_before=s.booking_cutoff_days_before,
        quantum=timedelta(minutes=s.slot_quantum_minutes), max_session=timedelta(minutes=s.max_session_minutes),
        no_show_grace=timedelta(minutes=s.no_show_grace_minutes),
        call_open_lead=timedelta(minutes=s.call_open_lead_minutes),
        reminder_leads=tuple(sorted((timedelta(minutes=m) for m in s.session_reminder_minutes), reverse=True)),
        feed_ttl=timedelta(days=s.feed_token_ttl_days), join_ttl=timedelta(minutes=s.join_token_ttl_minutes),
        hearing_notice_days=s.hearing_notice_days, hearing_conclusion_days=s.hearing_conclusion_days,
        hearing_panel_sizes=tuple(s.hearing_panel_sizes), deadline_moves_off_holidays=s.deadline_moves_off_holidays,
    )


def local_moment(policy: Policy, day: date, at: time) -> datetime:
    """The UTC instant of local time AT on DAY."""
    return datetime.combine(day, at, tzinfo=policy.zone).astimezone(UTC)


def local_day(policy: Policy, moment: datetime) -> date:
    """The local calendar day of a UTC instant."""
    return moment.astimezone(policy.zone).date()


def aware(moment: datetime, field_name: str) -> datetime:
    """MOMENT in UTC; a time without an offset is refused (times are ISO 8601 with offset)."""
    if moment.tzinfo is None:
        raise Invalid("error.time_without_offset", field=field_name)
    return moment.astimezone(UTC)


def floor_to_quantum(policy: Policy, moment: datetime) -> datetime:
    """MOMENT rounded down to the claim quantum."""
    q = int(policy.quantum.total_seconds())
    seconds = int(moment.timestamp())
    return datetime.fromtimestamp(seconds - seconds % q, UTC)


def on_quantum(policy: Policy, moment: datetime) -> bool:
    """Whether MOMENT falls exactly on a claim quantum boundary."""
    return moment.microsecond == 0 and int(moment.timestamp()) % int(policy.quantum.total_seconds()) == 0


def quanta(policy: Policy, start: datetime, end: datetime) -> list[datetime]:
    """The quantum starts covering [START, END)."""
    out, t = [], floor_to_quantum(policy, start)
    while t < end:
        out.append(t)
        t += policy.quantum
    return out


def cutoff_for(policy: Policy, starts_at: datetime) -> datetime:
    """The last moment a session starting at STARTS_AT can be booked."""
    day = local_day(policy, starts_at) - timedelta(days=policy.cutoff_days_before)
    if policy.cutoff_hour >= 24:
        return local_moment(policy, day + timedelta(days=1), time(0))
    return local_moment(policy, day, time(policy.cutoff_hour))
