"""ICE consent (RFC 7675) that a busy server keeps: a late answer to a consent check still counts."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import aioice.ice
from aioice import stun

logger = logging.getLogger(__name__)

# aioice sends each consent check once and counts it lost after 0.5 s; six lost in a row close
# the connection. On a loaded host the answers come late in bursts, and every participant's
# media was dropped at once (their pages then rebuilt their peer connections). RFC 7675 lets
# consent expire only when no answer came for 30 s: each check is retransmitted, so an answer
# several seconds late keeps consent, and a peer that is really gone still loses it in 30 s.
CHECK_RETRANSMISSIONS = 3  # tries after 0, 0.5, 1.5 and 3.5 s; the last one waits 4 s
EXPIRY_S = 30.0


async def _query_consent(self: aioice.ice.Connection) -> None:
    """Check consent every ~5 s; close the connection after EXPIRY_S without an answer."""
    assert self.remote_password is not None
    answered = time.monotonic()
    while True:
        await asyncio.sleep(aioice.ice.CONSENT_INTERVAL * (0.8 + 0.4 * random.random()))
        for pair in list(self._nominated.values()):
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(request, pair.remote_addr,
                                            integrity_key=self.remote_password.encode("utf8"),
                                            retransmissions=CHECK_RETRANSMISSIONS)
                answered = time.monotonic()
            except stun.TransactionError:
                pass
        if time.monotonic() - answered >= EXPIRY_S:
            logger.info("ICE consent expired: no answer for %.0f s", time.monotonic() - answered)
            self._query_consent_task = None
            await self.close()
            return


def install() -> None:
    """Make aioice's consent checks patient (idempotent)."""
    aioice.ice.Connection.query_consent = _query_consent  # type: ignore[method-assign]
