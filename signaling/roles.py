"""The one vocabulary of participant roles in a session, shared by booking, the call server and the pages."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["leader", "room", "petitioner", "representative", "agent", "interpreter", "coordinator", "chair",
               "recorder", "hearing_member", "handler", "observer", "witness"]
ROLES: tuple[str, ...] = get_args(Role)
# The leader and every room of a booking are seated by the booking itself; the others are named in it.
NAMED_ROLES: tuple[str, ...] = tuple(r for r in ROLES if r not in ("leader", "room"))
# Who runs the lobby: admits, keeps waiting, ends. A chair moderates a hearing.
MODERATORS: frozenset[str] = frozenset({"leader", "coordinator", "chair"})
# Who the session waits for: their arrival opens it, and nobody of them coming makes it a no-show.
PETITIONER_SIDE: frozenset[str] = frozenset({"room", "petitioner", "representative", "agent"})
# Who is booked by name and sits in a township room: the room's kiosk takes their seats and their camera is the room's.
SITS_IN_ROOM: frozenset[str] = frozenset({"petitioner", "representative", "agent", "interpreter"})
# Who sends camera and microphone: everyone but a watch-only observer (the server refuses an observer's send tracks).
PUBLISHERS: frozenset[str] = frozenset(ROLES) - {"observer"}
# Who deliberates in private (合议) at a hearing: everyone else is held in the lobby meanwhile.
DELIBERATES: frozenset[str] = frozenset({"chair", "hearing_member"})
# Who shows evidence (a document's pages, an image, a shared screen) to everyone in the call; a room only while a
# moderator allows it.
SHOWERS: frozenset[str] = frozenset({"leader", "chair", "coordinator", "handler"})

Capability = Literal["moderate", "publish", "receive", "show"]
# What each role may do in a call (signaling/README.md has the table):
#   moderate: admit, keep waiting or refuse, mute another participant, end the session for everyone;
#   publish:  send camera and microphone, forwarded to every admitted participant and recorded;
#   receive:  see and hear every publisher once admitted (everyone);
#   show:     show a document or image of the matter to everyone, and turn its pages, or share a screen or window
#             (the room: when allowed).
CAPABILITIES: dict[str, frozenset[str]] = {
    role: frozenset({"receive"} | ({"publish"} if role in PUBLISHERS else set())
                    | ({"moderate"} if role in MODERATORS else set())
                    | ({"show"} if role in SHOWERS else set()))
    for role in ROLES
}


def can(role: str, capability: Capability) -> bool:
    """Whether a participant of ROLE has CAPABILITY in a call (an unknown role has none)."""
    return capability in CAPABILITIES.get(role, frozenset())


def capabilities_of(role: str) -> list[str]:
    """ROLE's capabilities, sorted (for pages and JSON)."""
    return sorted(CAPABILITIES.get(role, frozenset()))
