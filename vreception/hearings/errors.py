"""Errors of the hearing procedure that users can hit."""

from vreception.errors import Conflict, Invalid


class NotInStage(Invalid):
    """A hearing is held only while the matter is handled or under second review (422)."""

    code = "hearing_not_in_stage"


class HearingOpen(Conflict):
    """The matter already has a hearing that is not over (409)."""

    code = "hearing_open"


class HearingState(Conflict):
    """The hearing's state does not allow this step (409)."""

    code = "hearing_state"


class ChairConflict(Invalid):
    """The chair acted on the matter, or is no leader of the office (422)."""

    code = "chair_conflict"


class PanelSize(Invalid):
    """The panel is not one of the allowed odd sizes (422)."""

    code = "panel_size"


class PanelNotOnRoster(Invalid):
    """A panel member is not on the office's roster of hearing members (422)."""

    code = "panel_not_on_roster"


class PanelConflict(Invalid):
    """A panel member acted on the matter or chairs the hearing (422)."""

    code = "panel_conflict"


class ClosedReasonInvalid(Invalid):
    """A hearing is closed only for a state secret, a trade secret or privacy (422)."""

    code = "closed_reason"


class NoticeTooLate(Invalid):
    """The hearing starts sooner than the notice period, and the petitioner did not waive it in writing (422)."""

    code = "hearing_notice_too_late"


class AgentAuthorisation(Invalid):
    """An agent takes part only with a written authorisation attached to the matter (422)."""

    code = "agent_authorisation"


class SeatsStarted(Conflict):
    """The hearing's session has opened: its seats no longer follow the hearing's staff (409)."""

    code = "hearing_session_started"
