"""The packet path's SRTP calls give what pylibsrtp's own give, and fail as they do."""

from __future__ import annotations

import os

import pylibsrtp
import pytest
from pylibsrtp import Policy, Session

from recordings.rtp.srtp import FastSession


def _pair() -> tuple[Session, Session]:
    key = os.urandom(30)
    return (Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)),
            Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND)))


def _rtp(seq: int, size: int = 1100) -> bytes:
    return bytes([0x80, 96]) + seq.to_bytes(2, "big") + (seq * 3000).to_bytes(4, "big") + b"\x12\x34\x56\x78" + \
        bytes(i % 251 for i in range(size))


def test_protect_and_unprotect_match_pylibsrtp():
    stock_tx, stock_rx = _pair()
    key = os.urandom(30)
    fast_tx = FastSession(Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND)))
    fast_rx = FastSession(Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_INBOUND)))
    mirror_tx = Session(policy=Policy(key=key, ssrc_type=Policy.SSRC_ANY_OUTBOUND))
    for seq in range(1, 50):
        packet = _rtp(seq, size=20 + seq * 20)
        protected = fast_tx.protect(packet)
        assert protected == mirror_tx.protect(packet)  # byte for byte what pylibsrtp makes
        assert fast_rx.unprotect(protected) == packet
        assert stock_rx.unprotect(stock_tx.protect(packet)) == packet
    # RTCP goes through pylibsrtp's own calls
    report = bytes([0x80, 201, 0, 1]) + b"\x12\x34\x56\x78"
    assert fast_rx.unprotect_rtcp(fast_tx.protect_rtcp(report)) == report


def test_failures_raise_what_pylibsrtp_raises():
    tx, rx = _pair()
    fast_rx = FastSession(rx)
    protected = tx.protect(_rtp(7))
    assert fast_rx.unprotect(protected) == _rtp(7)
    with pytest.raises(pylibsrtp.Error):
        fast_rx.unprotect(protected)  # a replay
    tampered = bytearray(tx.protect(_rtp(8)))
    tampered[20] ^= 1
    with pytest.raises(pylibsrtp.Error):
        fast_rx.unprotect(bytes(tampered))
    # too long for the session's buffer: pylibsrtp's own check
    with pytest.raises(ValueError):
        FastSession(tx).protect(_rtp(9, size=1490))
