"""The signaling WebSocket: /ws/sessions/{id}?token=JOIN_TOKEN (protocol: signaling/README.md)."""

from fastapi import APIRouter, WebSocket

router = APIRouter()


@router.websocket("/ws/sessions/{session_id}")
async def session_socket(websocket: WebSocket, session_id: int) -> None:
    """One participant's signaling connection."""
    await websocket.app.state.calls.serve(websocket, session_id)
