"""All tables of the platform, on one metadata (one Alembic environment)."""

from vreception.db import Base
from vreception.models.audit import AuditEvent, AuditHead
from vreception.models.calendar import CalendarDay, CalendarYear
from vreception.models.cases import (
    Channel,
    Counter,
    Deadline,
    DeadlineState,
    Demand,
    Matter,
    MatterEvent,
    MatterPetitioner,
    MatterState,
    Petitioner,
    RepeatLink,
)
from vreception.models.documents import Document
from vreception.models.org import LEVELS, Node, NodeKind, NodeLevel, Room
from vreception.models.people import ROLES, Person, Role, RoleAssignment, SignIn
from vreception.models.tasks import Attachment, Notification, Task, TaskState

__all__ = [
    "Attachment",
    "CalendarDay",
    "CalendarYear",
    "Channel",
    "Counter",
    "Deadline",
    "DeadlineState",
    "Demand",
    "Document",
    "Matter",
    "MatterEvent",
    "MatterPetitioner",
    "MatterState",
    "Notification",
    "Petitioner",
    "RepeatLink",
    "Task",
    "TaskState",
    "Base",
    "AuditEvent",
    "AuditHead",
    "LEVELS",
    "Node",
    "NodeKind",
    "NodeLevel",
    "Room",
    "ROLES",
    "Person",
    "Role",
    "RoleAssignment",
    "SignIn",
]
import vreception.models.figures  # noqa: E402,F401  (registers the monthly figures, issue 16)
import vreception.models.hearings  # noqa: E402,F401
import vreception.models.home_join  # noqa: E402,F401  (home links, issue 14)
import vreception.models.integration  # noqa: E402,F401  (registers the integration feed)
import vreception.models.network  # noqa: E402,F401  (registers room_status)
import vreception.models.online  # noqa: E402,F401  (registers the online requests, issue 14)
import vreception.models.recordings  # noqa: E402,F401
import vreception.models.records  # noqa: E402,F401
import vreception.models.scheduling  # noqa: E402,F401  (registers the scheduling tables)
import vreception.models.session_figures  # noqa: E402,F401  (the stored session counts, issue 16)
import vreception.models.sms  # noqa: E402,F401  (registers the SMS outbox)
