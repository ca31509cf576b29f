"""The signaling protocol (typed JSON messages), rooms and presence, and the bus (in-process or Redis).

The Redis implementations live in `signaling.redis_bus` and are imported only where needed.
"""

from signaling.bus import Bus, MemoryBus, Subscription, listen, session_channel
from signaling.closecodes import CloseCode
from signaling.errors import ERROR_CODES, ProtocolError
from signaling.events import ALL, MediaSignal, Send, Transition
from signaling.messages import (
    MAX_MESSAGE_BYTES,
    ClientMessage,
    ServerMessage,
    dump,
    error_message,
    parse_client_message,
    parse_server_message,
)
from signaling.ratelimit import TokenBucket
from signaling.rooms import Room, apply, close, disconnect, is_no_show, join, new_room
from signaling.state import MemoryStateStore, StateConflict, StateStore, update_room

__all__ = [
    "ALL",
    "ERROR_CODES",
    "MAX_MESSAGE_BYTES",
    "Bus",
    "ClientMessage",
    "CloseCode",
    "MediaSignal",
    "MemoryBus",
    "MemoryStateStore",
    "ProtocolError",
    "Room",
    "Send",
    "ServerMessage",
    "StateConflict",
    "StateStore",
    "Subscription",
    "TokenBucket",
    "Transition",
    "apply",
    "close",
    "disconnect",
    "dump",
    "error_message",
    "is_no_show",
    "join",
    "listen",
    "new_room",
    "parse_client_message",
    "parse_server_message",
    "session_channel",
    "update_room",
]
