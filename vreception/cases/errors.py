"""Errors of the case record that users can hit."""

from vreception.errors import Conflict, Invalid


class IllegalTransition(Conflict):
    """The matter's state does not allow this action (409)."""

    code = "illegal_transition"


class WindowClosed(Invalid):
    """A statutory window has passed (422)."""

    code = "window_closed"


class TooManyRepresentatives(Invalid):
    """A group names more than five representatives (Art. 20)."""

    code = "too_many_representatives"
