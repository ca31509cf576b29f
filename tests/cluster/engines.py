"""The shared engines of the topology test, each a real server in its own namespace: Redis, an S3 server (moto),
nginx serving the deploy/ site in front of the web fronts, and Debian's coturn with the deploy/ configuration."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.calls.test_turn_relay import TURNSERVER, Relay
from tests.cluster.network import Network

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "vreception.conf"
COTURN_CONF = ROOT / "deploy" / "coturn" / "turnserver.conf"
TURN_PORT = 3478
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def require_binary(path: str, package: str) -> None:
    """Skip without a Debian package's binary, except under CI, where the topology test must run."""
    from tests.conftest import IN_CI

    if not Path(path).exists():
        message = f"{path} is missing: install Debian's {package}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def listening(address: str, port: int) -> bool:
    """Whether something accepts TCP at ADDRESS:PORT (call it from a thread in a namespace that reaches it)."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((address, port)) == 0


def _wait_for_log(log: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"{log.name}: no {text!r}:\n" + (log.read_text(errors="replace")[-3000:] if log.exists() else ""))


@dataclass
class RedisServer:
    """A Redis of the test's own (not the machine's) with an append-only file, as a deployment keeps one."""

    network: Network
    host: str
    directory: Path
    port: int = 6390
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://{self.network.address(self.host)}:{self.port}/0"

    def start(self) -> None:
        """Start it (again: it loads what it kept) and return once it accepts connections."""
        self.directory.mkdir(exist_ok=True)
        self.starts += 1
        log = self.directory / f"redis-{self.starts}.log"
        argv = [REDIS_SERVER, "--bind", self.network.address(self.host), "--port", str(self.port),
                "--dir", str(self.directory), "--appendonly", "yes", "--save", "", "--protected-mode", "no",
                "--daemonize", "no", "--logfile", str(log)]
        self.process = subprocess.Popen(self.network.command(self.host, argv), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        _wait_for_log(log, "Ready to accept connections", self.process, 20)

    def stop(self) -> None:
        """A clean stop (SIGTERM: Redis flushes its append-only file first)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class S3Server:
    """moto's S3 server (the deployment's MinIO or Ceph) on the engines host."""

    network: Network
    host: str
    log: Path
    port: int = 9000
    bucket: str = "vreception-recordings"
    process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.network.address(self.host)}:{self.port}"

    def start(self) -> None:
        """Start the server (it answers once a thread in the namespace creates the bucket: `client()`)."""
        handle = open(self.log, "wb")
        argv = [sys.executable, "-m", "moto.server", "-H", self.network.address(self.host), "-p", str(self.port)]
        self.process = subprocess.Popen(self.network.command(self.host, argv), stdout=handle,
                                        stderr=subprocess.STDOUT)
        handle.close()

    def client(self):
        """A boto3 S3 client (from a thread in a namespace that reaches the server)."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", region_name="us-east-1")

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under PREFIX."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def self_signed(directory: Path, address: str, name: str) -> tuple[Path, Path]:
    """A certificate for NAME and ADDRESS (the test's clients trust it) and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(name),
                                                               x509.IPAddress(ipaddress.ip_address(address))]),
                                  critical=False)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _swap(text: str, old: str, new: str, source: str = "deploy/nginx/vreception.conf") -> str:
    # The file is tested as written: a line this test expects and no longer finds fails it, never skips it.
    assert old in text, f"{source} no longer has {old!r}"
    return text.replace(old, new)


@dataclass
class Proxy:
    """nginx with deploy/nginx/vreception.conf: only the fronts' addresses, the certificate and the static path
    differ from the file (it listens on 80 and 443 of its own host)."""

    network: Network
    host: str
    fronts: list[str]  # the fronts' "address:port", in the site's order
    directory: Path
    process: subprocess.Popen | None = None
    certificate: Path = field(init=False)

    @property
    def base(self) -> str:
        return f"https://{self.network.address(self.host)}"

    def site(self) -> str:
        """The deploy/ site with this test's fronts, certificate and static files."""
        text = SITE.read_text()
        text = _swap(text, "server 127.0.0.1:8001 ", f"server {self.fronts[0]} ")
        text = _swap(text, "server 127.0.0.1:8002 ", f"server {self.fronts[1]} ")
        text = _swap(text, "/etc/ssl/vreception/fullchain.pem", str(self.directory / "fullchain.pem"))
        text = _swap(text, "/etc/ssl/vreception/privkey.pem", str(self.directory / "privkey.pem"))
        return _swap(text, "/opt/vreception/static/", str(ROOT / "web" / "static") + "/")

    def start(self) -> None:
        self.directory.mkdir(exist_ok=True)
        self.certificate, _ = self_signed(self.directory, self.network.address(self.host), "reception.example.gov.cn")
        (self.directory / "vreception.conf").write_text(self.site())
        temp = {name: self.directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
        for path in temp.values():
            path.mkdir(exist_ok=True)
        # The upstream each request went to (the query string, which carries join tokens, is left out).
        (self.directory / "nginx.conf").write_text(f"""
user root;
worker_processes 1;
pid {self.directory / 'nginx.pid'};
error_log {self.directory / 'error.log'} notice;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$msec $request_method $uri $status upstream=$upstream_addr';
    access_log {self.directory / 'access.log'} upstreams;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    include {self.directory / 'vreception.conf'};
}}
""")
        argv = [NGINX, "-p", str(self.directory), "-e", str(self.directory / "error.log"),
                "-c", str(self.directory / "nginx.conf"), "-g", "daemon off;"]
        self.process = subprocess.Popen(self.network.command(self.host, argv), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        _wait_for_log(self.directory / "error.log", "start worker process", self.process, 20)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only this proxy's certificate."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def upstreams(self, uri_prefix: str) -> list[str]:
        """The upstream address(es) each finished request under URI_PREFIX went to, in order (a request that
        failed over lists both, comma-separated)."""
        log = self.directory / "access.log"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line.split("upstream=", 1)[1] for line in lines if line.split(" ")[2].startswith(uri_prefix)]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class TurnServer(Relay):
    """Debian's coturn with deploy/coturn/turnserver.conf on its own host (listening on 3478 of every address it
    has): only the shared secret, the allowed peers (the media workers' addresses, in the file the media network),
    the certificate and where it writes its files differ from the file. tests/calls/test_turn_relay.py's Relay
    reads its log and stops it."""

    def __init__(self, network: Network, host: str, directory: Path, *, secret: str, peers: list[str]) -> None:
        self.network, self.host, self.directory = network, host, directory
        self.secret, self.peers = secret, peers
        self.port = TURN_PORT
        self.log = directory / "turnserver.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The VRECEPTION_TURN_URLS entry of this relay."""
        return f"turn:{self.network.address(self.host)}:{self.port}?transport=udp"

    def config(self) -> str:
        """The deploy/ configuration with this test's secret, peers, certificate and files."""
        source = "deploy/coturn/turnserver.conf"
        text = COTURN_CONF.read_text()
        text = _swap(text, "static-auth-secret=CHANGE-ME-same-as-VRECEPTION_TURN_SECRET",
                     f"static-auth-secret={self.secret}", source)
        text = _swap(text, "allowed-peer-ip=10.0.20.0-10.0.20.255",
                     "\n".join(f"allowed-peer-ip={peer}" for peer in self.peers), source)
        text = _swap(text, "/etc/ssl/vreception/fullchain.pem", str(self.directory / "fullchain.pem"), source)
        text = _swap(text, "/etc/ssl/vreception/privkey.pem", str(self.directory / "privkey.pem"), source)
        # Its log in a file (allocations are counted from it) instead of syslog; its database and pid file here.
        text = _swap(text, "\nsyslog\n", f"\nlog-file={self.log}\nsimple-log\nverbose\n", source)
        return text + f"userdb={self.directory / 'turndb'}\npidfile={self.directory / 'turnserver.pid'}\n"

    def start(self) -> None:
        """Start coturn; returns once it accepts TCP on its port (checked from a host that reaches it)."""
        self.directory.mkdir(exist_ok=True)
        self_signed(self.directory, self.network.address(self.host), "turn.example.gov.cn")
        (self.directory / "turnserver.conf").write_text(self.config())
        self.process = subprocess.Popen(
            self.network.command(self.host, [TURNSERVER, "-c", str(self.directory / "turnserver.conf")]),
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def listening(self) -> bool:
        """Whether coturn accepts TCP on its port (call it from a thread in a namespace that reaches it)."""
        return listening(self.network.address(self.host), self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            super().stop()
