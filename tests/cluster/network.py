"""Network namespaces for the topology test: one namespace per host, all on one bridge, nothing routed elsewhere.

Every host gets `eth0` (10.66.0.x/24) whose peer is a port of a bridge living in a namespace of its own; no host
has a default route, so nothing leaves the machine. A host listed in `only` gets its address as /32 and a route to
each host it may reach, nothing else (a room behind a strict firewall). A test thread joins a host's namespace with setns(2), which
moves only that thread (and the threads it starts): the rest of the test process stays where it was.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
SUBNET = "10.66.0"
PREFIX = "vrtopo"


def _ip(*argv: str) -> None:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(argv)}: {done.stderr.strip()}")


def require_namespaces() -> None:
    """Skip without `ip netns` (root and CAP_NET_ADMIN), except under CI, where the topology test must run."""
    from tests.conftest import IN_CI

    problem = None
    if shutil.which("ip") is None:
        problem = "iproute2 is not installed"
    else:
        probe = f"{PREFIX}probe{os.getpid()}"
        done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
        if done.returncode != 0:
            problem = f"cannot make network namespaces: {done.stderr.strip()}"
        else:
            subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)


def _forget_stale() -> None:
    """Namespaces a killed earlier run of this test left behind (their process id is gone)."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    for name in listed:
        if name.startswith(PREFIX) and "-" in name:
            pid = name[len(PREFIX):].split("-", 1)[0]
            if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)


@dataclass
class Network:
    """Hosts by name, each with its own namespace and address on one bridge."""

    hosts: dict[str, int]  # name -> last octet of its address
    only: dict[str, list[str]] = field(default_factory=dict)  # host -> the only hosts it has a route to
    tag: str = field(default_factory=lambda: f"{PREFIX}{os.getpid()}")
    made: list[str] = field(default_factory=list)

    def namespace(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def address(self, host: str) -> str:
        return f"{SUBNET}.{self.hosts[host]}"

    def up(self) -> None:
        """Create the bridge's namespace and every host's, each linked to the bridge by a veth pair."""
        _forget_stale()
        lan = self.namespace("lan")
        _ip("netns", "add", lan)
        self.made.append(lan)
        _ip("-n", lan, "link", "add", "br0", "type", "bridge")
        _ip("-n", lan, "link", "set", "br0", "up")
        for index, host in enumerate(self.hosts):
            name = self.namespace(host)
            _ip("netns", "add", name)
            self.made.append(name)
            port = f"p{index}"
            _ip("-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("-n", lan, "link", "set", port, "master", "br0", "up")
            if host in self.only:
                _ip("-n", name, "addr", "add", f"{self.address(host)}/32", "dev", "eth0")
            else:
                _ip("-n", name, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
            for reachable in self.only.get(host, []):
                _ip("-n", name, "route", "add", f"{self.address(reachable)}/32", "dev", "eth0")

    def command(self, host: str, argv: list[str]) -> list[str]:
        """ARGV run in HOST's namespace (`ip netns exec` execs it: the process id is the command's own)."""
        return ["ip", "netns", "exec", self.namespace(host), *argv]

    def routes(self, host: str) -> list[str]:
        """HOST's IPv4 routes, as `ip route` prints them."""
        done = subprocess.run(["ip", "-n", self.namespace(host), "-4", "route"], capture_output=True, text=True,
                              check=True)
        return [line.strip() for line in done.stdout.splitlines() if line.strip()]

    def enter(self, host: str) -> None:
        """Move the calling thread (and the threads it starts from now on) into HOST's namespace."""
        libc = ctypes.CDLL(None, use_errno=True)
        descriptor = os.open(f"/run/netns/{self.namespace(host)}", os.O_RDONLY)
        try:
            if libc.setns(descriptor, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        finally:
            os.close(descriptor)

    def run_in(self, host: str, function: Callable[[], T]) -> T:
        """FUNCTION's result, called on a thread that lives in HOST's namespace (its exception is raised here)."""
        outcome: dict[str, object] = {}

        def body() -> None:
            try:
                self.enter(host)
                outcome["value"] = function()
            except BaseException as exc:  # handed to the caller, assertion errors included
                outcome["error"] = exc

        thread = threading.Thread(target=body, name=f"in-{host}")
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["value"]  # type: ignore[return-value]

    def down(self) -> None:
        """Delete every namespace (their veth pairs and the bridge go with them)."""
        for name in reversed(self.made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        self.made.clear()
