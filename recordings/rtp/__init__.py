"""Packet-level media path below aiortc's media layer (issue 18)."""
