"""Screen share in real Chromium inside a private network namespace (`unshare -n`).

Usage: python -m tests.calls.netns_screen_share OUT_DIR
The leader clicks 共享屏幕: the page calls getDisplayMedia for real (headless Chromium with
--use-fake-device-for-media-stream and --use-fake-ui-for-media-stream picks the screen itself and films a fake one:
dark green, 1280×720, a clock and a turning sector). The room's page shows it in a large tile of its own, labelled
with the leader's name, and its inbound-rtp counters for that track grow; 停止共享 removes it. A second share ends the
way the browser's own "stop sharing" bar ends one (the track's `ended`). After the end, the recording holds the
screen as an extra video stream and its manifest lists the shares.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.calls.netns_scenarios import World, end_call, open_page, participant, run, sees, wait

# What Chromium's fake screen films away from its clock and sector: dark green.
FAKE_SCREEN = (0, 128, 0)

SCREEN_PIXEL = """(publisher) => {
  const video = document.querySelector(`figure[data-publisher="${publisher}"] video`);
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(video, 0, 0);
  return Array.from(ctx.getImageData(canvas.width / 4, canvas.height * 3 / 4, 1, 1).data.slice(0, 3));
}"""

# The inbound-rtp counters of the screen tile's own track (matched by its track identifier).
SCREEN_INBOUND = """async (publisher) => {
  const video = document.querySelector(`figure[data-publisher="${publisher}"] video`);
  const call = window.vreceptionCall;
  if (!video || !video.srcObject || !call || !call.pc) return null;
  const track = video.srcObject.getVideoTracks()[0];
  if (!track) return null;
  let found = null;
  (await call.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video" && r.trackIdentifier === track.id)
      found = {packets: r.packetsReceived || 0, frames: r.framesDecoded || 0, width: r.frameWidth || 0,
               height: r.frameHeight || 0};
  });
  return found;
}"""


# The sharer's side of it: what Chromium encodes and sends of the screen (for the figures; screen content is
# encoded for legibility, so its frame rate drops before its resolution does).
SCREEN_OUTBOUND = """async () => {
  const call = window.vreceptionCall;
  if (!call || !call.pc || !call.screen) return null;
  const stats = await call.pc.getStats();
  let source = null; let out = null;
  stats.forEach((r) => { if (r.type === "media-source" && r.trackIdentifier === call.screen.track.id) source = r.id; });
  stats.forEach((r) => {
    if (r.type === "outbound-rtp" && r.mediaSourceId === source)
      out = {frames: r.framesSent || 0, packets: r.packetsSent || 0, fps: r.framesPerSecond || 0,
             limit: r.qualityLimitationReason, bitrate: r.targetBitrate, width: r.frameWidth, height: r.frameHeight};
  });
  return out;
}"""


def fake_screen(rgb) -> bool:
    return rgb is not None and all(abs(a - b) <= 50 for a, b in zip(rgb, FAKE_SCREEN, strict=True))


def room_gets_screen(room, publisher: str, seconds: float = 2.0) -> dict:
    """The room's screen tile: its pixel, caption and how much its track's counters grew over SECONDS."""
    figure = f"figure.tile.screen[data-publisher='{publisher}']"
    shown = bool(wait(lambda: room.locator(figure).count() and fake_screen(room.evaluate(SCREEN_PIXEL, publisher))))
    before = wait(lambda: room.evaluate(SCREEN_INBOUND, publisher))
    time.sleep(seconds)
    after = room.evaluate(SCREEN_INBOUND, publisher)
    return {
        "shown": shown,
        "caption": room.inner_text(f"{figure} figcaption") if room.locator(figure).count() else None,
        "packets": (after or {}).get("packets", 0) - (before or {}).get("packets", 0),
        "frames": (after or {}).get("frames", 0) - (before or {}).get("frames", 0),
        "size": [(after or {}).get("width"), (after or {}).get("height")],
    }


def screen_share(world: World, base: str, browser, out: Path) -> dict:
    session = world.book(base)
    room_id, leader_id = participant(session, "room")["id"], participant(session, "leader")["id"]
    publisher = f"{leader_id}-screen"
    result: dict = {"session_id": session["id"], "leader_id": leader_id}
    _, room = open_page(browser, base, "room.township", session["id"], "blue", "room", out)
    _, leader = open_page(browser, base, "leader.county", session["id"], "red", "leader", out)
    wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count())
    leader.click(f"button.admit[data-participant='{room_id}']")
    result["live"] = bool(sees(leader, room_id, "blue")) and bool(sees(room, leader_id, "red"))
    # The room may not share until a moderator lets it show evidence; the leader may once connected.
    result["room_button_hidden"] = not room.is_visible("#btn-screen")
    result["leader_button_ready"] = bool(
        wait(lambda: leader.is_enabled("#btn-screen") and leader.is_visible("#btn-screen"))
    )
    time.sleep(1.0)  # some recording before the share: its offset is then above 0

    leader.click("#btn-screen")  # getDisplayMedia, for real
    result["first"] = room_gets_screen(room, publisher)
    result["leader_sent"] = leader.evaluate(SCREEN_OUTBOUND)
    result["leader_button"] = leader.inner_text("#btn-screen")
    result["leader_preview"] = leader.locator("#local-screen").count() == 1
    result["screen_label"] = leader.evaluate(
        "() => window.vreceptionCall.screen && window.vreceptionCall.screen.track.label"
    )
    room.screenshot(path=str(out / "screen-share-room.png"))
    leader.screenshot(path=str(out / "screen-share-leader.png"))
    leader.click("#btn-screen")  # 停止共享
    result["first_removed"] = bool(wait(lambda: room.locator(f"figure[data-publisher='{publisher}']").count() == 0))
    result["leader_button_after"] = leader.inner_text("#btn-screen")

    leader.click("#btn-screen")
    result["second"] = room_gets_screen(room, publisher, seconds=1.0)
    # The browser's own "stop sharing" ends the captured track: the share ends everywhere.
    leader.evaluate("() => window.vreceptionCall.screen.track.dispatchEvent(new Event('ended'))")
    result["second_removed"] = bool(wait(lambda: room.locator(f"figure[data-publisher='{publisher}']").count() == 0))
    result["room_camera_still"] = bool(sees(room, leader_id, "red"))
    end_call(leader)
    result["state_ended"] = bool(wait(lambda: world.session_state(session["id"]) == "ended"))
    result["recording"] = wait(lambda: world.recording_streams(session["id"]), timeout=30)
    result["manifest"] = wait(lambda: world.manifest(session["id"]), timeout=30)
    return result


def main(out: Path) -> int:
    return run("screen_share", screen_share, out)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
