"""A media hub with a live recording in its own process, driven over JSON lines, for the kill -9 test.

python -m tests.recordings.crash_server DB_URL STORAGE_ROOT SESSION_ID SEGMENT_SECONDS
stdin:  {"op": "join", "pid", "sdp"} | {"op": "accept", "pid", "sdp"}
stdout: {"op": "ready", "recording_id"} | {"op": "answer", "pid", "sdp"} | {"op": "offer", "pid", "sdp"}
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from recordings.live import LiveRecording
from recordings.sfu import MediaHub
from recordings.storage import LocalStorage
from vreception import audit
from vreception.db import Database

TEST_SECRET = "t" * 48


def send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve(db_url: str, root: str, session_id: int, segment_seconds: float) -> None:
    hub = MediaHub(ice_servers=[], host_addresses=["127.0.0.1"],
                   on_offer=lambda pid, sdp: send({"op": "offer", "pid": pid, "sdp": sdp}))
    db = Database(db_url)
    db.use_audit_key(audit.key_from_secret(TEST_SECRET))  # as the test database and the app key the chain
    live = await LiveRecording.start(db=db, hub=hub, session_id=session_id,
                                     storage=LocalStorage(Path(root)), segment_seconds=segment_seconds)
    send({"op": "ready", "recording_id": live.recording_id})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        message = json.loads(line)
        if message["op"] == "join":
            answer = await hub.add_participant(message["pid"], message["sdp"])
            send({"op": "answer", "pid": message["pid"], "sdp": answer})
        elif message["op"] == "accept":
            await hub.accept_answer(message["pid"], message["sdp"])
    await live.stop()
    await hub.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
