"""The last packets sent on one outgoing stream, by sequence number, for answering NACKs (RFC 4585 §6.2.1)."""

from __future__ import annotations

# About 5 s of a 1 Mbit/s video stream: a NACK comes within a round trip or two, and a receiver gives up after ~1 s.
CACHE_PACKETS = 512
# A packet is sent again at most this often, however many NACKs name it (a receiver repeats its NACKs every RTT).
RESEND_INTERVAL = 0.05


class PacketCache:
    """A ring of the last CACHE_PACKETS rewritten plaintext packets of one stream, indexed by sequence number."""

    __slots__ = ("_mask", "_seqs", "_packets", "_resent")

    def __init__(self, size: int = CACHE_PACKETS) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("the cache size must be a power of two")
        self._mask = size - 1
        self._seqs = [-1] * size
        self._packets: list[bytes | None] = [None] * size
        self._resent = [0.0] * size

    def put(self, seq: int, packet: bytes) -> None:
        """Keep PACKET, sent with sequence number SEQ."""
        index = seq & self._mask
        self._seqs[index] = seq
        self._packets[index] = packet
        self._resent[index] = 0.0

    def get(self, seq: int) -> bytes | None:
        """The packet sent with SEQ, if it is still held."""
        index = seq & self._mask
        return self._packets[index] if self._seqs[index] == seq else None

    def take_for_resend(self, seq: int, now: float) -> bytes | None:
        """The packet sent with SEQ, unless it is gone or was sent again less than RESEND_INTERVAL ago."""
        index = seq & self._mask
        if self._seqs[index] != seq or now - self._resent[index] < RESEND_INTERVAL:
            return None
        self._resent[index] = now
        return self._packets[index]

    def clear(self) -> None:
        """Forget every packet."""
        size = self._mask + 1
        self._seqs = [-1] * size
        self._packets = [None] * size
        self._resent = [0.0] * size
