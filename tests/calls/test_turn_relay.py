"""The TURN relay for rooms behind strict firewalls: time-limited REST credentials per participant in the join
answer, and a real call through Debian's coturn from a Chromium that can reach nothing but the coturn address.

The relay scenario runs as `python -m tests.calls.test_turn_relay OUT_DIR` inside `unshare -n`: server, coturn and
the leader's Chromium share that namespace; the room's Chromium runs in a second namespace (ip netns, veth) whose
only route is the link to the coturn address, with iceTransportPolicy "relay".
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

from tests.calls.netns_scenarios import wait
from tests.factories import app_settings, book_walk_in, login, page_client
from vreception import clock, turn

TURN_SECRET = "relay-secret-" + "9f3a1c7e5b2d4086"
SERVER_SIDE = "10.77.0.1"  # the coturn (and web) address on the link the room's namespace has
ROOM_SIDE = "10.77.0.2"
MEDIA = "10.88.0.1"  # the server's media address: no route to it from the room's namespace
TURNSERVER = "/usr/bin/turnserver"


# ---- credentials and the join answer ---------------------------------------------------------------------------

def test_credentials_follow_the_turn_rest_scheme():
    relay = turn.Relay(urls=("turn:turn.example:3478",), secret=TURN_SECRET, ttl_seconds=600)
    now = 1_760_000_000
    grant = relay.grant("42", now=now)
    assert grant["username"] == f"{now + 600}:42" and turn.expiry(grant["username"]) == now + 600
    expected = base64.b64encode(hmac.new(TURN_SECRET.encode(), grant["username"].encode(), hashlib.sha1).digest())
    assert grant["credential"] == expected.decode() and len(base64.b64decode(grant["credential"])) == 20
    assert relay.grant("43", now=now)["credential"] != grant["credential"]
    assert turn.Relay(urls=relay.urls, secret="other" + TURN_SECRET, ttl_seconds=600).grant("42", now=now)[
        "credential"] != grant["credential"]
    with pytest.raises(ValueError):
        relay.grant("1:2", now=now)


def test_no_relay_and_no_server_by_default(tmp_path):
    from vreception.config import Settings

    settings = Settings(_env_file=None, mode="dev", data_dir=tmp_path)
    assert settings.turn_urls == [] and turn.relay_from(settings) is None
    assert turn.participant_ice_servers(settings, 7) == [] and turn.server_ice_servers(settings) == []
    with pytest.raises(ValueError, match="VRECEPTION_TURN_SECRET"):
        Settings(_env_file=None, turn_urls="turn:10.0.0.9:3478")
    parsed = Settings(_env_file=None, turn_urls="turn:10.0.0.9:3478, turns:turn.example:5349?transport=tcp",
                      turn_secret=TURN_SECRET)
    assert parsed.turn_urls == ["turn:10.0.0.9:3478", "turns:turn.example:5349?transport=tcp"]
    # The media server's own credentials outlive the longest session that can open now.
    server = turn.server_ice_servers(parsed, now=1000)[-1]
    assert turn.expiry(server["username"]) == 1000 + parsed.turn_ttl_seconds + (240 + 30) * 60
    assert server["username"].endswith(":" + turn.SERVER_USER)


@pytest.fixture
def settings(db, tmp_path):
    """The app's settings with a STUN server and the TURN relay configured."""
    return app_settings(db, tmp_path / "var").model_copy(update={
        "ice_servers": [{"urls": ["stun:10.0.0.9:3478"]}], "turn_urls": ["turn:10.0.0.9:3478?transport=udp"],
        "turn_secret": TURN_SECRET, "turn_ttl_seconds": 3600})


def test_join_answers_carry_each_participants_own_turn_credentials(client, org, app):
    booked = book_walk_in(client, org)
    seats = {p["role"]: p["id"] for p in booked["participants"]}
    started = int(time.time())
    answers = {}
    for username, role in (("leader.county", "leader"), ("room.township", "room")):
        response = client.post(f"/api/v1/sessions/{booked['id']}/join", headers=login(client, username),
                               json={"participant_id": seats[role]})
        assert response.status_code == 200, response.text
        answers[role] = response.json()["ice_servers"]
    for role, servers in answers.items():
        assert servers[0] == {"urls": ["stun:10.0.0.9:3478"], "username": None, "credential": None}
        relay = servers[1]
        assert relay["urls"] == ["turn:10.0.0.9:3478?transport=udp"]
        expires, who = relay["username"].split(":")
        assert who == str(seats[role]) and started + 3600 <= int(expires) <= int(time.time()) + 3600
        assert relay["credential"] == turn.credential(TURN_SECRET, relay["username"])
    assert answers["leader"][1]["credential"] != answers["room"][1]["credential"]
    # The call page's token answer carries them too (the page's RTCPeerConnection is built from it).
    kiosk = page_client(app, "room.township")
    page = kiosk.get(f"/calls/{booked['id']}")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    token = kiosk.post(f"/calls/{booked['id']}/token", headers={"x-csrf-token": csrf})
    assert token.status_code == 200, token.text
    relay = token.json()["ice_servers"][-1]
    assert relay["username"].endswith(f":{seats['room']}")
    assert relay["credential"] == turn.credential(TURN_SECRET, relay["username"])
    # The secret itself never reaches a page.
    assert TURN_SECRET not in page.text and TURN_SECRET not in token.text


# ---- a call through coturn ---------------------------------------------------------------------------------------

@pytest.mark.media
def test_a_room_that_reaches_only_coturn_calls_through_the_relay(tmp_path):
    from tests.browser import run_in_namespace

    if not Path(TURNSERVER).exists():
        from tests.conftest import IN_CI

        message = "coturn is not installed: `make test` installs Debian's coturn"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        pytest.skip("ip netns is not available")
    result = run_in_namespace("tests.calls.test_turn_relay", [], tmp_path / "relay", timeout=300)
    # The room's namespace has no route to the server's media address: only the relay can carry its media.
    assert result["room_routes"] == [f"10.77.0.0/24 dev vrt1 proto kernel scope link src {ROOM_SIDE}"], result
    assert "unreachable" in result["room_reaches_media"].lower(), result
    assert result["room_policy"] == "relay" and result["room_turn_user"].endswith(f":{result['room_id']}")
    assert result["room_turn_urls"] == [f"turn:{SERVER_SIDE}:{result['turn_port']}?transport=udp"]
    pair = result["room_pair"]
    assert pair["local_type"] == "relay" and pair["relay_protocol"] == "udp", pair
    assert pair["local_address"] == MEDIA, pair  # the relayed address coturn allocated
    assert result["leader_sees_room"] and result["room_sees_leader"], result
    assert result["room_frames_in_2s"] >= 20 and result["leader_frames_in_2s"] >= 20, result
    assert result["turn_allocations_for_room"] >= 1, result
    # The media server's own credentials (turn.server_ice_servers) are accepted too: its peers gather relay candidates.
    assert result["server_relay_candidates"] and MEDIA in result["server_relay_candidates"][0], result




def _free_port(host: str, kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _sh(*argv: str) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=True)
    return done.stdout


RELAY_ONLY = """
(() => {
  // A room behind a strict firewall: only relayed candidates; the configuration the page used is kept for the test.
  const Native = window.RTCPeerConnection;
  window.__pcConfigs = [];
  window.RTCPeerConnection = function (config) {
    const forced = Object.assign({}, config || {}, { iceTransportPolicy: "relay" });
    window.__pcConfigs.push(JSON.parse(JSON.stringify(forced)));
    return new Native(forced);
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();
"""

SELECTED_PAIR = """async () => {
  const pc = window.vreceptionCall && window.vreceptionCall.pc;
  if (!pc || pc.connectionState !== "connected") return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
  if (!pair) stats.forEach((r) => { if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r; });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return {local_type: local.candidateType, relay_protocol: local.relayProtocol || null,
          local_address: local.address || local.ip, remote_type: remote.candidateType,
          remote_address: remote.address || remote.ip, bytes_received: pair.bytesReceived};
}"""


class Relay:
    """coturn on SERVER_SIDE with the REST shared secret, relaying from the media address."""

    def __init__(self, out: Path):
        self.port = _free_port(SERVER_SIDE, socket.SOCK_DGRAM)
        self.log = out / "turnserver.log"
        config = out / "turnserver.conf"
        config.write_text("\n".join([
            f"listening-ip={SERVER_SIDE}", f"listening-port={self.port}", f"relay-ip={MEDIA}",
            "min-port=50000", "max-port=50100", "use-auth-secret", f"static-auth-secret={TURN_SECRET}",
            "realm=vreception.test", "fingerprint", "no-tls", "no-dtls", "no-tcp-relay", "no-cli",
            "no-multicast-peers", "no-software-attribute", f"userdb={out / 'turndb'}", f"pidfile={out / 'turn.pid'}",
            f"log-file={self.log}", "simple-log", "verbose", "",
        ]))
        self.process = subprocess.Popen([TURNSERVER, "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT)
        if not wait(self.listening, timeout=15):
            raise RuntimeError("coturn did not start: " + (self.log.read_text()[-2000:] if self.log.exists() else ""))

    def listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex((SERVER_SIDE, self.port)) == 0

    def allocations_for(self, user: str) -> int:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return len(re.findall(r"user <" + re.escape(user) + r">: [^\n]*ALLOCATE processed, success", text))

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class RoomNamespace:
    """A network namespace whose only link is a veth to SERVER_SIDE; Chromium runs in it through a wrapper."""

    def __init__(self, out: Path):
        self.name = f"vrturn{os.getpid()}"
        _sh("ip", "netns", "add", self.name)
        _sh("ip", "link", "add", "vrt0", "type", "veth", "peer", "name", "vrt1")
        _sh("ip", "link", "set", "vrt1", "netns", self.name)
        _sh("ip", "addr", "add", f"{SERVER_SIDE}/24", "dev", "vrt0")
        _sh("ip", "link", "set", "vrt0", "up")
        _sh("ip", "-n", self.name, "addr", "add", f"{ROOM_SIDE}/24", "dev", "vrt1")
        _sh("ip", "-n", self.name, "link", "set", "vrt1", "up")
        _sh("ip", "-n", self.name, "link", "set", "lo", "up")
        self.chromium = out / "chromium-in-room"
        from tests.browser import CHROMIUM

        self.chromium.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {CHROMIUM} "$@"\n')
        self.chromium.chmod(0o755)

    def routes(self) -> list[str]:
        return [line.strip() for line in _sh("ip", "-n", self.name, "-4", "route").splitlines() if line.strip()]

    def reach(self, address: str) -> str:
        """What sending a datagram to ADDRESS from the namespace gives ('sent' or the error)."""
        probe = ("import socket\ntry:\n    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', "
                 f"('{address}', 9))\n    print('sent')\nexcept OSError as e:\n    print(e)")
        return subprocess.run(["ip", "netns", "exec", self.name, sys.executable, "-c", probe],
                              capture_output=True, text=True).stdout.strip()

    def remove(self) -> None:
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)


def _serve(app, host: str):
    """Serve APP with uvicorn on HOST in a thread; (base URL, stop)."""
    import uvicorn

    sock = socket.socket()
    sock.bind((host, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    if not wait(lambda: server.started or not thread.is_alive(), timeout=20) or not server.started:
        raise RuntimeError("server did not start")

    def stop():
        server.should_exit = True
        thread.join(10)
        sock.close()

    return f"http://{host}:{sock.getsockname()[1]}", stop


async def _server_relay_candidates(settings) -> list[str]:
    """The relayed candidates an aiortc peer configured as the media server's gathers with its own credentials."""
    from aiortc import RTCPeerConnection

    from recordings import ice

    pc = RTCPeerConnection(ice.rtc_configuration(turn.server_ice_servers(settings)))
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        return [line for line in pc.localDescription.sdp.splitlines() if "typ relay" in line]
    finally:
        await pc.close()


def scenario(out: Path) -> dict:
    """Server and coturn here, the leader's Chromium here, the room's Chromium in the relay-only namespace."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, FLAGS
    from tests.calls import netns_scenarios as calls
    from vreception.app import create_app

    _sh("ip", "link", "set", "lo", "up")
    _sh("ip", "addr", "add", f"{MEDIA}/32", "dev", "lo")
    result: dict = {}
    room_ns = RoomNamespace(out)
    relay = None
    stop = None
    try:
        result["room_routes"] = room_ns.routes()
        result["room_reaches_media"] = room_ns.reach(MEDIA)
        relay = Relay(out)
        result["turn_port"] = relay.port
        world = calls.World(out)  # a fresh SQLite platform and the test organisation
        settings = world.settings.model_copy(update={
            "media_host_addresses": [MEDIA], "turn_urls": [f"turn:{SERVER_SIDE}:{relay.port}?transport=udp"],
            "turn_secret": TURN_SECRET})
        world.settings, world.app = settings, create_app(settings, world.db)
        base, stop = _serve(world.app, SERVER_SIDE)
        with sync_playwright() as playwright:
            # Not loopback, so not a secure context by itself: without this the pages get no mediaDevices.
            args = FLAGS + ["--autoplay-policy=no-user-gesture-required", f"--unsafely-treat-insecure-origin-as-secure={base}"]
            here = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
            there = playwright.chromium.launch(executable_path=str(room_ns.chromium), headless=True, args=args)
            try:
                session = world.book(base)
                room_id = calls.participant(session, "room")["id"]
                leader_id = calls.participant(session, "leader")["id"]
                result["room_id"] = room_id
                _, room = calls.open_page(there, base, "room.township", session["id"], "blue", "room", out,
                                          scripts=[RELAY_ONLY])
                _, leader = calls.open_page(here, base, "leader.county", session["id"], "red", "leader", out)
                calls.wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count())
                leader.click(f"button.admit[data-participant='{room_id}']")
                result["leader_sees_room"] = bool(calls.sees(leader, room_id, "blue", timeout=40))
                result["room_sees_leader"] = bool(calls.sees(room, leader_id, "red", timeout=40))
                config = room.evaluate("() => window.__pcConfigs[window.__pcConfigs.length - 1]")
                result["room_policy"] = config.get("iceTransportPolicy")
                turn_entry = next(s for s in config["iceServers"] if str(s["urls"]).startswith("['turn")
                                  or (isinstance(s["urls"], list) and s["urls"][0].startswith("turn")))
                result["room_turn_urls"], result["room_turn_user"] = turn_entry["urls"], turn_entry["username"]
                result["room_pair"] = calls.wait(lambda: room.evaluate(SELECTED_PAIR), timeout=20)
                grown = calls.growth(2.0, room=room, leader=leader)
                result["room_frames_in_2s"] = grown["room"]["frames"]
                result["leader_frames_in_2s"] = grown["leader"]["frames"]
                result["turn_allocations_for_room"] = relay.allocations_for(turn_entry["username"])
                room.screenshot(path=str(out / "turn-relay-room.png"))
            finally:
                here.close()
                there.close()
        result["server_relay_candidates"] = asyncio.run(_server_relay_candidates(settings))
    finally:
        if stop is not None:
            stop()
        if relay is not None:
            relay.stop()
        room_ns.remove()
        clock.reset()
    return result


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    import logging

    logging.basicConfig(filename=str(out / "server.log"), level=logging.INFO)
    try:
        result = scenario(out)
    except Exception:
        result = {"error": traceback.format_exc()}
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
