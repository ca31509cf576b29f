"""All tables of the platform, on one metadata (one Alembic environment)."""

from vreception.db import Base
from vreception.models.audit import AuditEvent, AuditHead
from vreception.models.org import LEVELS, Node, NodeKind, NodeLevel, Room
from vreception.models.people import ROLES, Person, Role, RoleAssignment

__all__ = [
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
]
