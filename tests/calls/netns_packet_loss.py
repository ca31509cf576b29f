"""A recorded two-party call in real Chromium with 2 % of UDP packets lost, inside a private network namespace.

Usage: python -m tests.calls.netns_packet_loss OUT_DIR
The kernel here has no netem, so the loss is a classic-BPF classifier (`ld rand`) sending that share of the UDP
packets leaving lo into an HTB class whose pfifo holds none: every datagram between a page and the server crosses
lo once, so a forwarded packet meets the loss twice (publisher to server, server to viewer). Both pages' getStats,
the server's forwarding counters and the recording's gaps are taken over the lossy window.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.calls.netns_scenarios import CSS, World, end_call, frames_grow, open_page, participant, run, sees, wait

LOSS = 0.02
SECONDS = 10.0
SETTLE_S = 1.0  # after the loss ends: the last losses are asked for again and repaired
IP_PROTOCOL_OFFSET = 23  # on lo, the classifier sees a 14-byte Ethernet header before the IPv4 one
SKF_AD_RANDOM = 0xFFFFF000 + 56  # classic BPF's `ld rand` (SKF_AD_OFF + SKF_AD_RANDOM)

# The page's camera in its colour with a band of changing blocks above and below the centre: frames of several
# packets each (the plain test camera's fit in one), so that a lost packet breaks a frame the decoder must have whole.
BUSY_CAMERA = """
(() => {
  const colour = %s;
  const plain = navigator.mediaDevices.getUserMedia;
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await plain(constraints);
    const canvas = document.createElement("canvas");
    canvas.width = 640; canvas.height = 360;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = colour; ctx.fillRect(0, 0, 640, 360);
    const draw = () => {
      for (let i = 0; i < 120; i++) {
        const y = Math.random() < 0.5 ? Math.floor(Math.random() * 6) * 16 : 264 + Math.floor(Math.random() * 6) * 16;
        ctx.fillStyle = `rgb(${Math.random() * 255},${Math.random() * 255},${Math.random() * 255})`;
        ctx.fillRect(Math.floor(Math.random() * 40) * 16, y, 16, 16);
      }
    };
    draw(); setInterval(draw, 1000 / 30);
    for (const track of stream.getVideoTracks()) { stream.removeTrack(track); track.stop(); }
    stream.addTrack(canvas.captureStream(30).getVideoTracks()[0]);
    return stream;
  };
})();
"""

STATS = """async () => {
  const pc = window.vreceptionCall && window.vreceptionCall.pc;
  if (!pc) return null;
  const out = {inbound: {}, outbound: {}};
  const add = (into, kind, r, keys) => {
    const row = into[kind] || (into[kind] = {});
    for (const key of keys) row[key] = (row[key] || 0) + (r[key] || 0);
  };
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp")
      add(out.inbound, r.kind, r, ["packetsReceived", "packetsLost", "nackCount", "framesReceived", "framesDecoded",
                                   "framesDropped", "freezeCount", "totalFreezesDuration", "pliCount",
                                   "retransmittedPacketsReceived", "concealedSamples", "totalSamplesReceived"]);
    else if (r.type === "outbound-rtp")
      add(out.outbound, r.kind, r, ["packetsSent", "bytesSent", "framesEncoded", "framesSent", "nackCount",
                                    "retransmittedPacketsSent", "pliCount", "targetBitrate"]);
  });
  return out;
}"""


def lose_udp(share: float) -> None:
    """Drop SHARE of the UDP packets leaving lo, at random, from now on."""
    threshold = int(share * 2**32)
    program = [(0x30, 0, 0, IP_PROTOCOL_OFFSET),  # ldb [23]: the IP protocol
               (0x15, 0, 3, 17),  # jeq UDP, else pass
               (0x20, 0, 0, SKF_AD_RANDOM),  # ld rand
               (0x35, 1, 0, threshold),  # jge threshold: pass
               (0x06, 0, 0, 0x10020),  # ret class 1:20 (dropped)
               (0x06, 0, 0, 0)]  # ret 0: the default class
    bytecode = ",".join([str(len(program))] + [" ".join(map(str, op)) for op in program])
    for command in (
        "qdisc add dev lo root handle 1: htb default 10",
        "class add dev lo parent 1: classid 1:10 htb rate 10gbit burst 1mb cburst 1mb",
        "class add dev lo parent 1: classid 1:20 htb rate 10gbit burst 1mb cburst 1mb",
        "qdisc add dev lo parent 1:20 handle 20: pfifo limit 0",
    ):
        subprocess.run(["tc", *command.split()], check=True, capture_output=True)
    subprocess.run(["tc", "filter", "add", "dev", "lo", "parent", "1:", "bpf", "bytecode", bytecode,
                    "classid", "1:20"], check=True, capture_output=True)


def udp_dropped() -> int:
    """The packets the loss has dropped so far."""
    shown = subprocess.run(["tc", "-s", "qdisc", "show", "dev", "lo"], check=True, capture_output=True, text=True)
    found = re.search(r"qdisc pfifo 20:.*?\n.*?dropped (\d+)", shown.stdout)
    return int(found.group(1)) if found else 0


def stop_loss() -> None:
    subprocess.run(["tc", "qdisc", "del", "dev", "lo", "root"], check=True, capture_output=True)


def on_server(world: World, function: Any) -> Any:
    """FUNCTION() run on the live server's event loop (the hub's state is that loop's)."""
    async def call() -> Any:
        return function()

    return asyncio.run_coroutine_threadsafe(call(), world.server.servers[0].get_loop()).result(10)


def hub_figures(world: World, session_id: int) -> dict[str, Any]:
    """The packet path's counters per publisher: upstream packets received, lost, recovered by NACK, frames the
    recorder got and lost, and the retransmissions to each viewer."""
    def read() -> dict[str, Any]:
        hub = world.app.state.calls.media.hubs[session_id]
        forwarder = hub.packet_forwarder
        figures: dict[str, Any] = {}
        for pid in list(hub._participants):
            for source in hub.sources(pid):
                stream = forwarder.in_stream(source)
                if stream is None:
                    continue
                assembler = stream.assembler
                figures[f"{pid}-{source.kind}"] = {
                    "received": stream.stats.packets_received, "lost": stream.stats.packets_lost,
                    "recovered": stream.recovered, "frames": source.frames,
                    "recorded_frames": assembler.frames if assembler else 0,
                    "recorder_dropped": assembler.dropped if assembler else 0,
                    "recorder_lost_packets": assembler.lost if assembler else 0,
                    "retransmitted": sum(out.retransmitted for out in stream.outs),
                    "forwarded": sum(out.packets for out in stream.outs),
                    "remb_sent": stream.remb_sent,
                }
        return figures

    return on_server(world, read)


def delta(after: Any, before: Any) -> Any:
    """AFTER - BEFORE, key by key (nested dicts of numbers)."""
    if isinstance(after, dict):
        return {key: delta(value, (before or {}).get(key)) for key, value in after.items()}
    return round(after - (before or 0), 3) if isinstance(after, int | float) else after


def packet_loss(world: World, base: str, browser: Any, out: Path) -> dict[str, Any]:
    session = world.book(base)
    room_id, leader_id = participant(session, "room")["id"], participant(session, "leader")["id"]
    result: dict[str, Any] = {"session_id": session["id"]}
    _, leader = open_page(browser, base, "leader.county", session["id"], "red", "leader", out,
                          scripts=[BUSY_CAMERA % json.dumps(CSS["red"])])
    _, room = open_page(browser, base, "room.township", session["id"], "blue", "room", out,
                        scripts=[BUSY_CAMERA % json.dumps(CSS["blue"])])
    wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count())
    leader.click(f"button.admit[data-participant='{room_id}']")
    pages = {"leader": leader, "room": room}
    result["sees_before"] = bool(sees(leader, room_id, "blue")) and bool(sees(room, leader_id, "red"))
    result["recording"] = bool(wait(lambda: leader.get_attribute("#call-state", "data-state") == "live"
                                    and leader.is_visible("#recording")))
    result["flowing"] = all(frames_grow(page, 30) for page in pages.values())

    before = {name: page.evaluate(STATS) for name, page in pages.items()}
    hub_before = hub_figures(world, session["id"])
    lose_udp(LOSS)
    time.sleep(SECONDS)
    result["udp_dropped"] = udp_dropped()
    stop_loss()
    time.sleep(SETTLE_S)
    after = {name: page.evaluate(STATS) for name, page in pages.items()}
    hub_after = hub_figures(world, session["id"])
    result["pages"] = delta(after, before)
    result["hub"] = delta(hub_after, hub_before)
    result["sees_after"] = bool(sees(leader, room_id, "blue")) and bool(sees(room, leader_id, "red"))

    end_call(leader)
    result["ended"] = bool(wait(lambda: world.session_state(session["id"]) == "ended"))
    manifest = wait(lambda: world.manifest(session["id"]), timeout=30)
    result["verify"] = manifest["verify"] if manifest else None
    result["gaps"] = manifest["document"]["gaps"] if manifest else None
    return result


def main(out: Path) -> int:
    return run("packet_loss", packet_loss, out)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
