"""Fronts (`vreception serve`) and media workers (`vreception media-worker`) as real processes on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("VRECEPTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "t" * 48
# Starting a process imports the whole application: seconds of CPU, much longer on a loaded machine.
START_S = 120  # the tests' audit key (tests/conftest.py) and the apps' secret


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_reachable() -> bool:
    """Whether the test Redis answers."""
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def require_redis() -> None:
    """Skip without the test Redis, except under CI, where it must answer (as tests/signaling/conftest.py)."""
    import pytest

    if not redis_reachable():
        message = f"Redis at {REDIS_URL} is unreachable"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def wait_until(condition, timeout: float, step: float = 0.1) -> bool:
    """Poll CONDITION until true or TIMEOUT seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


@dataclass
class Process:
    """One server process and its log."""

    name: str
    popen: subprocess.Popen
    log: Path
    base: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """kill -9: the process vanishes without a word (its disk stays)."""
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)


@dataclass
class Topology:
    """Fronts and workers sharing one database, one Redis prefix and one recordings directory."""

    database_url: str
    data_dir: Path
    prefix: str = field(default_factory=lambda: f"vrt-{uuid.uuid4().hex[:10]}:")
    fronts: list[Process] = field(default_factory=list)
    workers: dict[str, Process] = field(default_factory=dict)
    segment_seconds: int = 5

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VRECEPTION_")}
        env.update({
            "VRECEPTION_MODE": "dev", "VRECEPTION_DATABASE_URL": self.database_url,
            "VRECEPTION_DATA_DIR": str(self.data_dir), "VRECEPTION_SECRET_KEY": SECRET,
            "VRECEPTION_MEDIA_HOST_ADDRESSES": "127.0.0.1", "VRECEPTION_JOB_INTERVAL_SECONDS": "0",
            "VRECEPTION_REDIS_URL": REDIS_URL, "VRECEPTION_REDIS_PREFIX": self.prefix,
            "VRECEPTION_MEDIA_PLACEMENT": "workers",
            "VRECEPTION_RECORDING_SEGMENT_SECONDS": str(self.segment_seconds),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(extra)
        return env

    def _spawn(self, name: str, args: list[str]) -> Process:
        log = self.data_dir.parent / f"{name}.log"
        handle = open(log, "wb")
        popen = subprocess.Popen([sys.executable, "-m", "vreception.cli", *args], cwd=self.data_dir.parent,
                                 env=self.env(), stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        return Process(name, popen, log)

    def start(self, workers: tuple[str, ...], fronts: int) -> None:
        """Media workers with these ids and FRONTS fronts, started together; returns once all of them answer."""
        for worker_id in workers:
            self.workers[worker_id] = self._spawn(worker_id, ["media-worker", "--id", worker_id])
        for _ in range(fronts):
            port = free_port()
            process = self._spawn(f"front{len(self.fronts) + 1}", ["serve", "--host", "127.0.0.1", "--port", str(port)])
            process.base = f"http://127.0.0.1:{port}"
            self.fronts.append(process)
        for worker_id in workers:
            self.wait_for_worker(worker_id)
        for process in self.fronts:
            self.wait_for_front(process)

    def wait_for_worker(self, worker_id: str) -> None:
        """Until the worker announced itself (a loaded machine takes its time to import everything)."""
        process = self.workers[worker_id]
        if not wait_until(lambda: "ready at" in process.output() or process.popen.poll() is not None, START_S):
            raise RuntimeError(f"worker {worker_id} did not start:\n{process.output()}")
        if process.popen.poll() is not None:
            raise RuntimeError(f"worker {worker_id} exited:\n{process.output()}")

    def wait_for_front(self, process: Process) -> None:
        """Until the front's /healthz answers."""

        def healthy() -> bool:
            try:
                return httpx.get(f"{process.base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return process.popen.poll() is not None

        if not wait_until(healthy, START_S) or process.popen.poll() is not None:
            raise RuntimeError(f"front did not start:\n{process.output()}")

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(REDIS_URL, decode_responses=True)

    def placed_on(self, session_id: int) -> str | None:
        """The worker the session is placed on (from Redis, as the fronts read it)."""
        return self.redis().get(f"{self.prefix}cluster:placement:{session_id}")

    def stop(self) -> None:
        """Stop every process still running (SIGTERM, then SIGKILL) and forget the test's keys."""
        for process in [*self.fronts, *self.workers.values()]:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in [*self.fronts, *self.workers.values()]:
            try:
                process.popen.wait(15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(5)
        client = self.redis()
        keys = list(client.scan_iter(f"{self.prefix}*"))
        if keys:
            client.delete(*keys)
