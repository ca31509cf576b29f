"""The aiortc 1.16 hooks of the hub besides the packet path's own (recordings.rtp.tap): PLIs upstream, viewer PLIs rerouted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aioice.ice
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc import __version__ as aiortc_version

SUPPORTED_AIORTC = "1.16."


class AiortcHookError(RuntimeError):
    """aiortc's private API that the hub relies on is missing or changed."""


def _names(function: object) -> set[str]:
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code else set()


def missing_hooks() -> list[str]:
    """The private aiortc/aioice hook points this module and the hub need that are absent (empty when all is well)."""
    missing = []
    if not aiortc_version.startswith(SUPPORTED_AIORTC):
        missing.append(f"aiortc version {SUPPORTED_AIORTC}* (found {aiortc_version})")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        missing.append("RTCRtpReceiver._send_rtcp_pli")
    if "_send_keyframe" not in _names(RTCRtpSender._handle_rtcp_packet):
        missing.append("RTCRtpSender._handle_rtcp_packet calling _send_keyframe")
    if "_stream_id" not in _names(RTCRtpSender.__init__):
        missing.append("RTCRtpSender._stream_id")
    if "get_host_addresses" not in _names(aioice.ice.Connection.gather_candidates):
        missing.append("aioice.ice.Connection.gather_candidates calling get_host_addresses")
    return missing


def check_hooks() -> None:
    """Raise AiortcHookError naming every private hook point that this aiortc lacks."""
    missing = missing_hooks()
    if missing:
        raise AiortcHookError(
            "recordings.aiortc_hooks needs aiortc internals that changed; re-read aiortc's "
            "rtcrtpreceiver/rtcrtpsender and adapt: " + "; ".join(missing)
        )


def active_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC the publisher most recently sent on RECEIVER, if any."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return None
    return max(sources, key=lambda source: source.timestamp).source


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the publisher behind RECEIVER for a key frame (RTCP PLI); False when it has sent nothing yet."""
    ssrc = active_ssrc(receiver)
    if ssrc is None:
        return False
    await receiver._send_rtcp_pli(ssrc)
    return True


def forward_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """Make a viewer's PLI/FIR on SENDER call REQUEST instead of flagging an encoder the hub never uses."""
    # an instance attribute shadows the method that _handle_rtcp_packet calls as self._send_keyframe()
    sender._send_keyframe = request  # type: ignore[method-assign]


_pending: set[asyncio.Task[bool]] = set()


def request_keyframe_soon(receiver: RTCRtpReceiver) -> None:
    """Schedule a PLI to RECEIVER's publisher from synchronous code (an RTCP handler)."""
    task = asyncio.get_running_loop().create_task(send_pli(receiver))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
