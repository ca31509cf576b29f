"""The storage backends: local files, and S3 against a real moto server on loopback (boto3 client)."""

from __future__ import annotations

import hashlib
import os
import socket

import pytest

from recordings.storage import LocalStorage, S3Storage, StorageError, fetch, iter_chunks, sha256_stored
from tests.conftest import IN_CI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    """A moto S3 server on a free loopback port (skipped when moto[server] is missing, failed under CI)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"moto[server] is required under CI=true: {exc}")
        pytest.skip(f"moto[server] not installed ({exc}): pip install 'moto[server]'")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "recordings")
    endpoint = request.getfixturevalue("moto_endpoint")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    backend = S3Storage(bucket=f"rec-{os.getpid()}-{id(tmp_path) % 10_000}", staging=tmp_path / "staging",
                        endpoint_url=endpoint, access_key="testing", secret_key="testing", prefix="vr")
    backend.client.create_bucket(Bucket=backend.bucket)
    return backend


def test_put_read_ranges_size_list_delete(storage, tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    live = storage.live_path("sessions/1/recording-1/p3/seg-00000.webm")
    live.write_bytes(data)
    storage.put("sessions/1/recording-1/p3/seg-00000.webm", live)
    other = storage.live_path("sessions/1/recording-1/manifest.json")
    other.write_bytes(b"{}")
    storage.put("sessions/1/recording-1/manifest.json", other)
    elsewhere = storage.live_path("sessions/2/recording-9/manifest.json")
    elsewhere.write_bytes(b"[]")
    storage.put("sessions/2/recording-9/manifest.json", elsewhere)

    key = "sessions/1/recording-1/p3/seg-00000.webm"
    assert storage.size(key) == len(data)
    assert storage.read(key) == data
    assert storage.read(key, 0, 10) == data[:10]
    assert storage.read(key, 1_000_000, 4096) == data[1_000_000:1_004_096]
    assert storage.read(key, len(data) - 5) == data[-5:]
    assert storage.read(key, len(data) - 5, 100) == data[-5:]  # a range past the end is cut short
    assert b"".join(iter_chunks(storage, key, chunk=1_000_000)) == data
    assert sha256_stored(storage, key) == (hashlib.sha256(data).hexdigest(), len(data))
    assert fetch(storage, key, tmp_path / "copy").read_bytes() == data
    assert storage.list("sessions/1/") == ["sessions/1/recording-1/manifest.json", key]
    assert storage.exists(key) and not storage.exists("sessions/1/nothing")

    storage.delete(key)
    storage.delete(key)  # deleting twice is fine
    assert not storage.exists(key)
    assert storage.list("sessions/1/") == ["sessions/1/recording-1/manifest.json"]
    with pytest.raises(StorageError):
        storage.size(key)
    with pytest.raises(StorageError):
        storage.read(key, 0, 10)


def test_keys_cannot_escape(storage):
    for key in ("../x", "/etc/passwd", "a/../../b", "a//b", ""):
        with pytest.raises(ValueError):
            storage.live_path(key)


def test_local_put_is_atomic_and_live_files_are_not_listed(tmp_path):
    storage = LocalStorage(tmp_path / "r")
    live = storage.live_path("s/1/seg.webm")
    live.write_bytes(b"abc")
    assert storage.list("s/") == []  # still live: not stored yet
    storage.put("s/1/seg.webm", live)
    assert not live.exists()
    assert storage.local_file("s/1/seg.webm").read_bytes() == b"abc"
    assert storage.list("") == ["s/1/seg.webm"]
