"""The typed errors of booking, each with its own stable code and catalog message."""

from __future__ import annotations

from vreception.errors import Conflict, Invalid


class BookingConflict(Conflict):
    """A resource (leader, room, person) is already claimed for part of the time."""

    code = "conflict"


class LevelSkip(Invalid):
    """越级: the leader is neither at the matter's proper level nor the one above."""

    code = "level_skip"


class TooManyRepresentatives(Invalid):
    """A group sends more than five representatives (Art. 20)."""

    code = "too_many_representatives"


class MatterNotBookable(Invalid):
    """The matter is concluded, in progress, or past its review window."""

    code = "matter_not_bookable"


class OutsidePlan(Invalid):
    """The time is not within the leader's published reception plan."""

    code = "outside_plan"


class PastCutoff(Invalid):
    """Bookings for that day have closed (by default 17:00 the day before)."""

    code = "past_cutoff"


class RoomClosed(Invalid):
    """A room is not open for the whole time."""

    code = "room_closed"


class LeaderAway(Invalid):
    """The leader is away on that day."""

    code = "leader_away"


class NotJoinable(Conflict):
    """The session is over or cancelled: nobody can join it any more."""

    code = "not_joinable"


class IllegalSessionChange(Conflict):
    """The session's state does not allow the change."""

    code = "illegal_transition"
