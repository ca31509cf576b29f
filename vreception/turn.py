"""TURN relay credentials: the TURN REST shared-secret scheme (coturn's `use-auth-secret`).

The username is "<expiry unix time>:<who>" and the password is base64(HMAC-SHA1(secret, username)); coturn
recomputes it from the same secret and refuses a username whose expiry has passed. Nothing is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vreception.config import Settings

# The name the media server's own peers use on the relay (participants use their participant id).
SERVER_USER = "vreception-media"


@dataclass(frozen=True)
class Relay:
    """A TURN server reached with time-limited credentials derived from a shared secret."""

    urls: tuple[str, ...]
    secret: str
    ttl_seconds: int

    def grant(self, who: str, *, now: float | None = None, ttl_seconds: int | None = None) -> dict[str, Any]:
        """An RTCIceServer entry for WHO, valid for the relay's TTL (or TTL_SECONDS) from NOW."""
        expires = int(now if now is not None else time.time()) + (ttl_seconds or self.ttl_seconds)
        name = username(who, expires=expires)
        return {"urls": list(self.urls), "username": name, "credential": credential(self.secret, name)}


def username(who: str, *, expires: int) -> str:
    """The REST username: the expiry (unix seconds), a colon, then who uses it."""
    if ":" in who:
        raise ValueError("a TURN user id cannot contain ':' (it separates the expiry)")
    return f"{int(expires)}:{who}"


def credential(secret: str, name: str) -> str:
    """The REST password of NAME: base64 of HMAC-SHA1 keyed with the shared secret."""
    return base64.b64encode(hmac.new(secret.encode(), name.encode(), hashlib.sha1).digest()).decode("ascii")


def expiry(name: str) -> int:
    """The unix time a REST username stops being accepted."""
    return int(name.split(":", 1)[0])


def relay_from(settings: Settings) -> Relay | None:
    """The settings' TURN relay, or None when no TURN URL is configured (no relay, nothing contacted)."""
    if not settings.turn_urls:
        return None
    return Relay(urls=tuple(settings.turn_urls), secret=settings.turn_secret, ttl_seconds=settings.turn_ttl_seconds)


def participant_ice_servers(settings: Settings, participant_id: int | str, *, now: float | None = None
                            ) -> list[dict[str, Any]]:
    """The ICE servers one participant's browser uses: the configured ones, then the relay with credentials of
    its own (it goes in the join answer; a new one comes with every join token)."""
    servers = [dict(server) for server in settings.ice_servers]
    relay = relay_from(settings)
    if relay is not None:
        servers.append(relay.grant(str(participant_id), now=now))
    return servers


def server_ice_servers(settings: Settings, *, now: float | None = None) -> list[dict[str, Any]]:
    """The ICE servers of the media server's peers for one session: its credentials outlive the longest session
    that can open now (a hub makes peers with them until the session ends)."""
    servers = [dict(server) for server in settings.ice_servers]
    relay = relay_from(settings)
    if relay is not None:
        longest = (settings.max_session_minutes + settings.call_open_lead_minutes) * 60
        servers.append(relay.grant(SERVER_USER, now=now, ttl_seconds=relay.ttl_seconds + longest))
    return servers
