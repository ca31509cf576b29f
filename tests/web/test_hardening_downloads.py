"""A recording downloaded whole (no Range) is read and sent a chunk at a time, never held whole in memory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import web.responses
from recordings import service
from recordings.storage import LocalStorage
from tests.factories import add_recording, build_scene, login
from vreception.models.recordings import RecordingState

CHUNK = 64 * 1024


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # about reading files, not SQL
def test_a_whole_download_is_read_and_sent_a_chunk_at_a_time(app, client, org, settings, db, tmp_path, monkeypatch):
    scene = build_scene(db, org, settings)
    data = os.urandom(5 * CHUNK + 123)
    source = tmp_path / "whole.webm"
    source.write_bytes(data)
    LocalStorage(Path(settings.data_dir) / "recordings").put("test/whole.webm", source)
    with db.transaction() as session:
        recording = add_recording(session, settings, scene.session)
        recording.state, recording.media_key, recording.container = RecordingState.finalised, "test/whole.webm", "webm"
        recording.bytes, recording.sha256 = len(data), hashlib.sha256(data).hexdigest()
        recording_id = recording.id
    monkeypatch.setattr(web.responses, "MAX_CHUNK", CHUNK)
    reads: list[int] = []
    read_media = service.read_media

    def counted(**kw):
        reads.append(kw["length"])
        return read_media(**kw)

    monkeypatch.setattr(service, "read_media", counted)
    with client.stream("GET", f"/api/v1/recordings/{recording_id}/media",
                       headers=login(client, "coord.county")) as answer:
        assert answer.status_code == 200 and answer.headers["content-length"] == str(len(data))
        parts = list(answer.iter_bytes())
    assert b"".join(parts) == data
    assert reads == [CHUNK] * 5 + [123]  # never more than one chunk read at once
