"""Where recording files live: the local filesystem by default, or an S3-compatible bucket."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from vreception.config import Settings

CHUNK = 1 << 20


class StorageError(RuntimeError):
    """The storage backend failed or holds no object under the key."""


class Storage(Protocol):
    """A flat key → bytes store with ranged reads, plus a local directory for files being written."""

    name: str

    def live_path(self, key: str) -> Path:
        """The local file where KEY is written while it is live (parents created)."""

    def put(self, key: str, source: Path) -> None:
        """Store the finished file SOURCE under KEY; SOURCE may be moved away (consumed)."""

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        """LENGTH bytes of KEY from OFFSET (to the end when LENGTH is None)."""

    def size(self, key: str) -> int:
        """Bytes stored under KEY (StorageError when absent)."""

    def exists(self, key: str) -> bool:
        """True when KEY is stored."""

    def delete(self, key: str) -> None:
        """Remove KEY (no error when it is already gone)."""

    def list(self, prefix: str) -> list[str]:
        """Stored keys starting with PREFIX, sorted."""

    def local_file(self, key: str) -> Path | None:
        """A local path holding KEY's bytes when the backend has one (reading it is faster), else None."""


def check_key(key: str) -> str:
    """KEY if it is a safe relative key (no '..', no leading '/'), else ValueError."""
    if not key or "\\" in key or any(part in ("..", ".", "") for part in key.split("/")):
        raise ValueError(f"unsafe storage key {key!r}")
    return key


class LocalStorage:
    """Files under ROOT; live files under ROOT/.live, moved into place when finished."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.live_root = self.root / ".live"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def live_path(self, key: str) -> Path:
        path = self.live_root / check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".part")
        try:
            os.replace(source, temporary)
        except OSError:  # another filesystem: copy instead of rename
            shutil.copyfile(source, temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                handle.seek(offset)
                return handle.read() if length is None else handle.read(length)
        except FileNotFoundError:
            raise StorageError(f"no object {key!r} in {self.root}") from None

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise StorageError(f"no object {key!r} in {self.root}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        keys = []
        for path in self.root.rglob("*"):
            if path.is_file() and self.live_root not in path.parents and not path.name.endswith(".part"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def local_file(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None


class S3Storage:
    """Objects in an S3-compatible bucket (MinIO, Ceph, a cloud); live files in a local staging directory."""

    name = "s3"

    def __init__(
        self,
        *,
        bucket: str,
        staging: Path,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        prefix: str = "",
    ) -> None:
        import boto3  # only the S3 backend needs it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.live_root = Path(staging)
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, s3={"addressing_style": "path"}),
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def live_path(self, key: str) -> Path:
        path = self.live_root / check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def put(self, key: str, source: Path) -> None:
        self.client.upload_file(str(source), self.bucket, self._key(key))
        Path(source).unlink(missing_ok=True)

    def read(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        if length == 0:
            return b""
        byte_range = f"bytes={offset}-" if length is None else f"bytes={offset}-{offset + length - 1}"
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=byte_range)
        except self.client.exceptions.NoSuchKey:
            raise StorageError(f"no object {key!r} in bucket {self.bucket}") from None
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise StorageError(f"reading {key!r}: {exc}") from exc
        data: bytes = response["Body"].read()  # boto3 is untyped here
        return data

    def size(self, key: str) -> int:
        try:
            length: int = self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
            return length
        except self.client.exceptions.ClientError as exc:
            raise StorageError(f"no object {key!r} in bucket {self.bucket}: {exc}") from None

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except StorageError:
            return False
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list(self, prefix: str) -> list[str]:
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys += [item["Key"][len(self.prefix):] for item in page.get("Contents", [])]
        return sorted(keys)

    def local_file(self, key: str) -> Path | None:
        return None


def iter_chunks(storage: Storage, key: str, chunk: int = CHUNK) -> Iterator[bytes]:
    """KEY's bytes in ranged reads of CHUNK bytes."""
    offset, total = 0, storage.size(key)
    while offset < total:
        data = storage.read(key, offset, min(chunk, total - offset))
        if not data:
            raise StorageError(f"{key!r} ended at {offset} of {total} bytes")
        offset += len(data)
        yield data


def sha256_file(path: Path) -> tuple[str, int]:
    """sha256 hex digest and size of a local file."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def sha256_stored(storage: Storage, key: str) -> tuple[str, int]:
    """sha256 hex digest and size of KEY, recomputed from the backend's bytes."""
    local = storage.local_file(key)
    if local is not None:
        return sha256_file(local)
    digest, size = hashlib.sha256(), 0
    for block in iter_chunks(storage, key):
        digest.update(block)
        size += len(block)
    return digest.hexdigest(), size


def fetch(storage: Storage, key: str, target: Path) -> Path:
    """A local file with KEY's bytes: the backend's own when it has one, else a copy at TARGET."""
    local = storage.local_file(key)
    if local is not None:
        return local
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        for block in iter_chunks(storage, key):
            handle.write(block)
    return target


def storage_from_settings(settings: Settings) -> Storage:
    """The backend SETTINGS choose: local files under data_dir/recordings, or the S3 bucket."""
    root = Path(settings.data_dir) / "recordings"
    if settings.recording_storage == "s3":
        return S3Storage(
            bucket=settings.recording_s3_bucket,
            staging=root / ".live",
            endpoint_url=settings.recording_s3_endpoint or None,
            access_key=settings.recording_s3_access_key or None,
            secret_key=settings.recording_s3_secret_key or None,
            region=settings.recording_s3_region,
            prefix=settings.recording_s3_prefix,
        )
    return LocalStorage(root)
