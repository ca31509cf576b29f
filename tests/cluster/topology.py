"""Web fronts (`vreception serve`) and media workers (`vreception media-worker`) as real processes, each in the
network namespace of its own host (tests/cluster/network.py), sharing PostgreSQL, a Redis and an S3 server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.cluster.network import Network

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("VRECEPTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "t" * 48  # the tests' audit key (tests/conftest.py) and the apps' secret
# Starting a process imports the whole application: seconds of CPU, much longer on a loaded machine.
START_S = 120
# PostgreSQL's own socket: a namespace has no route to the machine's 127.0.0.1, the file system is shared.
PG_SOCKET_DIR = "/var/run/postgresql"
FRONT_PORT = 8000


def redis_reachable() -> bool:
    """Whether the machine's test Redis answers."""
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def require_redis() -> None:
    """Skip without the test Redis, except under CI, where it must answer (as tests/signaling/conftest.py)."""
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


def require_local_postgres(url: str) -> None:
    """Skip unless the test database is the machine's PostgreSQL on 127.0.0.1:5432 (its Unix socket is the way in
    from a namespace), except under CI, where the topology test must run."""
    from tests.conftest import IN_CI

    if "@127.0.0.1:5432/" not in url or not Path(PG_SOCKET_DIR, ".s.PGSQL.5432").exists():
        message = f"the topology test needs the machine's PostgreSQL with its socket in {PG_SOCKET_DIR}, not {url}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def over_socket(url: str) -> str:
    """The test database's URL (TCP on 127.0.0.1) as the same database over PostgreSQL's Unix socket."""
    head, _, tail = url.partition("@127.0.0.1:5432/")
    assert tail, f"not the test PostgreSQL on 127.0.0.1:5432: {url}"
    database, _, query = tail.partition("?")
    return f"{head}@/{database}?host={PG_SOCKET_DIR}" + (f"&{query}" if query else "")


@dataclass
class Process:
    """One server process and its log."""

    name: str
    host: str
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
    """Fronts and workers sharing one database, one Redis prefix, one S3 bucket and one data directory (the
    workers' staging disk: a lost worker's journal stays readable, as when only its process dies), or with
    `own_disks` a data directory per worker (data_dir/<worker id>: one lost with its machine takes its journal and
    its open segments along)."""

    network: Network
    database_url: str
    data_dir: Path
    redis_url: str
    settings: dict[str, str] = field(default_factory=dict)  # more VRECEPTION_ settings for every process
    prefix: str = field(default_factory=lambda: f"vrt-{uuid.uuid4().hex[:10]}:")
    fronts: list[Process] = field(default_factory=list)
    workers: dict[str, Process] = field(default_factory=dict)
    segment_seconds: int | None = 5  # VRECEPTION_RECORDING_SEGMENT_SECONDS (None: the settings' default)
    own_disks: bool = False

    def env(self, host: str | None = None, **extra: str) -> dict[str, str]:
        """The environment of a process on HOST (its media address is that host's)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VRECEPTION_")}
        env.update({
            "VRECEPTION_MODE": "dev", "VRECEPTION_DATABASE_URL": over_socket(self.database_url),
            "VRECEPTION_DATA_DIR": str(self.data_dir), "VRECEPTION_SECRET_KEY": SECRET,
            "VRECEPTION_JOB_INTERVAL_SECONDS": "0",
            "VRECEPTION_REDIS_URL": self.redis_url, "VRECEPTION_REDIS_PREFIX": self.prefix,
            "VRECEPTION_MEDIA_PLACEMENT": "workers",
            "PYTHONUNBUFFERED": "1",
            **self.settings,
        })
        if self.segment_seconds is not None:
            env["VRECEPTION_RECORDING_SEGMENT_SECONDS"] = str(self.segment_seconds)
        if host is not None:
            env["VRECEPTION_MEDIA_HOST_ADDRESSES"] = self.network.address(host)
        env.update(extra)
        return env

    def cli(self, host: str, args: list[str]) -> list[str]:
        """`vreception ARGS` run on HOST."""
        return self.network.command(host, [sys.executable, "-m", "vreception.cli", *args])

    def disk(self, worker_id: str) -> Path:
        """The data directory of the worker WORKER_ID (its staging disk)."""
        return self.data_dir / worker_id if self.own_disks else self.data_dir

    def _spawn(self, name: str, host: str, args: list[str], **extra: str) -> Process:
        log = self.data_dir.parent / f"{name}.log"
        handle = open(log, "wb")
        popen = subprocess.Popen(self.cli(host, args), cwd=self.data_dir.parent, env=self.env(host, **extra),
                                 stdout=handle, stderr=subprocess.STDOUT)
        handle.close()
        return Process(name, host, popen, log)

    def start(self, workers: dict[str, str], fronts: list[str]) -> None:
        """Media workers (id -> host) and fronts (one per host), started together; returns once all are up."""
        for worker_id, host in workers.items():
            self.disk(worker_id).mkdir(exist_ok=True)
            self.workers[worker_id] = self._spawn(worker_id, host, ["media-worker", "--id", worker_id],
                                                  VRECEPTION_DATA_DIR=str(self.disk(worker_id)))
        for host in fronts:
            process = self._spawn(host, host, ["serve", "--host", self.network.address(host),
                                               "--port", str(FRONT_PORT)])
            process.base = f"http://{self.network.address(host)}:{FRONT_PORT}"
            self.fronts.append(process)
        for process in [*self.workers.values(), *self.fronts]:
            self._wait_for(process)

    def _wait_for(self, process: Process) -> None:
        """Until the worker announced itself or the front listens (a loaded machine takes its time to import)."""
        ready = "ready at" if process in self.workers.values() else "Uvicorn running on"
        if not wait_until(lambda: ready in process.output() or process.popen.poll() is not None, START_S):
            raise RuntimeError(f"{process.name} did not start:\n{process.output()[-5000:]}")
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.output()[-5000:]}")

    def front_addresses(self) -> list[str]:
        """Each front's "address:port", in start order (as nginx's upstream lists them)."""
        return [f"{self.network.address(p.host)}:{FRONT_PORT}" for p in self.fronts]

    def redis(self) -> redis.Redis:
        """A client of the topology's Redis (from a thread in a namespace that reaches it)."""
        return redis.Redis.from_url(self.redis_url, decode_responses=True, socket_connect_timeout=2)

    def placed_on(self, session_id: int) -> str | None:
        """The worker the session is placed on (from Redis, as the fronts read it)."""
        return self.redis().get(f"{self.prefix}cluster:placement:{session_id}")

    def stop(self) -> None:
        """Stop every process still running (SIGTERM, then SIGKILL)."""
        processes = [*self.fronts, *self.workers.values()]
        for process in processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in processes:
            try:
                process.popen.wait(15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(5)
