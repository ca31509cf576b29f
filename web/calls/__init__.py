"""Calls: the signaling WebSocket, tying the signaling rooms, the media hub and the session record."""
