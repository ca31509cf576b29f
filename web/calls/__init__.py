"""Calls: the signaling WebSocket routes sockets and the bus; media is recordings.call, state rules scheduling."""
