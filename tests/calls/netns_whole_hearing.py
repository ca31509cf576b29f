"""A whole public hearing in real Chromium, inside a private network namespace (`unshare -n`).

Usage: python -m tests.calls.netns_whole_hearing OUT_DIR
Proposed, decided, the notice waived, the panel composed and booked through the API; then in one Chromium: the chair,
three panel members, the handler and the township room (the petitioner 王五 sits in it) publish, two anonymous
gallery viewers watch. The chair runs the agenda, gives and takes the floor, shows a two-page PDF, deliberates in
private (everyone else waits in the lobby), closes; the recorder writes the 笔录 meanwhile; after the end the room's
kiosk takes the petitioner's signature, the staff confirm, and the office issues the conclusion.

Every page's camera is a 320×240 canvas at CAMERA_FPS (a loaded two-core machine decodes some 40 streams here), and
every wait polls a counter or the page with a deadline; the only fixed sleep is the measured deliberation window.
The server's event-loop lag, the namespace's UDP drops and the load average are measured along the way.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tests.calls.netns_evidence import pdf_of_colours, room_sees_page
from tests.calls.netns_scenarios import World, end_call, near, open_gallery, open_page, participant, run, wait
from tests.web.test_browser_record_signing import _draw
from vreception.i18n import translate

CAMERA_FPS = 10
# (name, username, colour) of every page that publishes; the chair's page opens first and runs the lobby.
PUBLISHERS = (
    ("chair", "leader.county", "red"),
    ("member1", "hearing", "green"),
    ("member2", "hearing2", "magenta"),
    ("member3", "hearing3", "cyan"),
    ("handler", "handler", "yellow"),
    ("room", "room.township", "blue"),
)
PANEL = ("chair", "member1", "member2", "member3")
HELD = ("room", "handler", "gallery1", "gallery2")  # who waits in the lobby while the panel deliberates
GALLERIES = ("gallery1", "gallery2")
WINDOW_S = 3.0  # the measured deliberation window
ENTRIES = (
    "信访人王五陈述：土地补偿款至今未到位，请求依法补发。",
    "承办单位答复：补偿款已列入年度预算，正在办理拨付手续。",
    "主持人宣布：听证结束，听证结论将在法定期限内送达。",
)

# Every peer connection the page ever makes, so a count of what it received survives the page closing one.
WATCH_PEERS = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__peers = [];
  window.__peerStates = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      const entry = { pc: this, last: { audio: 0, video: 0, frames: 0, bytes: 0 } };
      window.__peers.push(entry);
      const index = window.__peers.length - 1;
      this.addEventListener("connectionstatechange", () =>
        window.__peerStates.push([index, this.connectionState, Math.round(performance.now())]));
    }
  };
})();
"""

# What the page received over all its peer connections (a closed one keeps its last count) and how many are open.
RECEIVED = """async () => {
  const out = { audio: 0, video: 0, frames: 0, bytes: 0, open: 0 };
  for (const entry of window.__peers || []) {
    if (entry.pc.signalingState !== "closed") {
      try {
        const now = { audio: 0, video: 0, frames: 0, bytes: 0 };
        (await entry.pc.getStats()).forEach((r) => {
          if (r.type !== "inbound-rtp") return;
          now[r.kind] += r.packetsReceived || 0;
          now.bytes += r.bytesReceived || 0;
          if (r.kind === "video") now.frames += r.framesDecoded || 0;
        });
        entry.last = now;
        out.open += 1;
      } catch (error) { /* closed meanwhile: its last count stands */ }
    }
    for (const key of ["audio", "video", "frames", "bytes"]) out[key] += entry.last[key];
  }
  return out;
}"""

# The centre pixel of every remote tile, by publisher.
TILES = """() => Object.fromEntries([...document.querySelectorAll("figure[data-publisher] video")].map((video) => {
  const publisher = video.closest("figure").dataset.publisher;
  if (!video.videoWidth) return [publisher, null];
  const canvas = document.createElement("canvas");
  canvas.width = 1; canvas.height = 1;
  canvas.getContext("2d").drawImage(video, video.videoWidth / 2, video.videoHeight / 2, 1, 1, 0, 0, 1, 1);
  return [publisher, Array.from(canvas.getContext("2d").getImageData(0, 0, 1, 1).data.slice(0, 3))];
}))"""

# For a page that misses a publisher: its tiles (pixel, stream, tracks) and the call's remote streams.
STREAMS = """() => {
  const call = window.vreceptionCall;
  const tiles = [...document.querySelectorAll("figure[data-publisher] video")].map((video) => ({
    publisher: video.closest("figure").dataset.publisher, width: video.videoWidth, paused: video.paused,
    ready: video.readyState, error: video.error && video.error.code,
    tracks: video.srcObject ? video.srcObject.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted}`) : null}));
  const streams = call ? [...call.remoteStreams.entries()].map(([id, s]) =>
    [id, s.getTracks().map((t) => `${t.kind}:${t.readyState}:${t.muted}`)]) : null;
  const log = call ? call.log.slice(-30).map((m) => [m.type, m.at]) : null;
  return { tiles, streams, log };
}"""

# The state of the room's evidence image, for when it does not show the page.
EVIDENCE_IMAGE = """() => {
  const image = document.getElementById("evidence-page");
  return { ...image.dataset, complete: image.complete, width: image.naturalWidth, src: image.getAttribute("src"),
           viewHidden: document.getElementById("evidence-view").hidden, shown: window.vreceptionEvidence };
}"""

# The gallery's evidence image: its page (from the caption) and its centre pixel once loaded.
GALLERY_EVIDENCE = """() => {
  const image = document.getElementById("evidence-page");
  if (!image || document.getElementById("evidence").hidden || !image.complete || !image.naturalWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  return { caption: document.getElementById("evidence-caption").textContent,
           src: image.getAttribute("src"),
           rgb: Array.from(ctx.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data.slice(0, 3)) };
}"""


class LoopLag:
    """How late the server's event loop runs a callback handed to it from another thread, sampled every 0.2 s; while
    it is late, where the loop's thread is (its innermost frames, counted every 50 ms)."""

    def __init__(self, loop):
        self.loop = loop
        self.phase = "start"
        self.samples: list[tuple[str, float]] = []
        self.late_in: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-lag", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        ident: list[int] = []
        self.loop.call_soon_threadsafe(lambda: ident.append(threading.get_ident()))
        while not self._stop.is_set():
            ran = threading.Event()
            started = time.monotonic()
            self.loop.call_soon_threadsafe(ran.set)
            while not ran.wait(0.05) and time.monotonic() - started < 120:
                if time.monotonic() - started > 0.2 and ident:
                    self.late_in[where(sys._current_frames().get(ident[0]))] += 1
            self.samples.append((self.phase, time.monotonic() - started))
            self._stop.wait(0.2)

    def summary(self) -> dict:
        """Per phase: samples, the 95th percentile and the largest lag in ms."""
        self._stop.set()
        self._thread.join(5)
        out: dict = {}
        for phase in dict.fromkeys(p for p, _ in self.samples):
            lags = sorted(lag for p, lag in self.samples if p == phase)
            out[phase] = {
                "n": len(lags),
                "p95_ms": round(lags[int(0.95 * (len(lags) - 1))] * 1000),
                "max_ms": round(lags[-1] * 1000),
            }
        out["late_in"] = self.late_in.most_common(12)
        return out


def where(frame) -> str:
    """The innermost three frames of FRAME as file:function, innermost last."""
    names: list[str] = []
    while frame is not None and len(names) < 3:
        names.append(f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(names)


def udp_counters() -> dict:
    """This network namespace's UDP counters (/proc/net/snmp): receive-buffer drops show a server falling behind."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    return dict(zip(lines[0][1:], (int(v) for v in lines[1][1:]), strict=True))


def udp_drops() -> dict[str, int]:
    """Datagrams each program's UDP sockets in this namespace dropped (a full receive buffer), by program name."""
    owners: dict[str, str] = {}
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            target = os.readlink(fd)
            if target.startswith("socket:["):
                owners[target[8:-1]] = (fd.parent.parent / "comm").read_text().strip()
        except OSError:  # a process or descriptor gone meanwhile
            continue
    drops: Counter[str] = Counter()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            drops[owners.get(fields[9], "?")] += int(fields[12])
    return dict(drops)


def wall_clock() -> datetime:
    """The real time (the platform's clock is travelled to the hearing's day; recordings stamp real arrivals)."""
    return datetime.now(UTC)


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


class Hearing:
    """The pages of the hearing, the seats behind them and what the scenario measured."""

    def __init__(self, world: World, base: str, browser, out: Path):
        self.world, self.base, self.browser, self.out = world, base, browser, out
        self.pages: dict = {}
        self.result: dict = {"load_average": {"start": load_average()}, "phases_s": {}}
        self.clock_started = time.monotonic()
        self.lag = LoopLag(world.server.servers[0].get_loop())

    def phase(self, name: str) -> None:
        """Start phase NAME: the time since the last one is the previous phase's duration; the sockets' drops so far."""
        if self.pages:
            self.result.setdefault("udp_drops", {})[self.lag.phase] = udp_drops()
        now = time.monotonic()
        self.result["phases_s"][self.lag.phase] = round(now - self.clock_started, 1)
        self.clock_started, self.lag.phase = now, name

    def received(self, name: str) -> dict:
        return self.pages[name].evaluate(RECEIVED)

    def sees(self, name: str, expected: dict[str, str]) -> bool:
        """Whether page NAME shows every publisher of EXPECTED (participant id → colour) in its colour."""
        tiles = self.pages[name].evaluate(TILES)
        return all(near(tiles.get(pid), colour) for pid, colour in expected.items())

    def all_see(self, expected: dict[str, dict[str, str]], timeout: float) -> dict[str, bool]:
        """Wait until every page of EXPECTED sees its publishers; which pages did."""
        seen: dict[str, bool] = dict.fromkeys(expected, False)
        started, took = time.monotonic(), self.result.setdefault("seen_after_s", [])
        slow: dict[str, float] = {}

        def check() -> bool:
            for name in expected:
                if not seen[name]:
                    seen[name] = self.sees(name, expected[name])
                    waited = time.monotonic() - started
                    if seen[name]:
                        took.append((self.lag.phase, name, round(waited, 1)))
                    elif waited > slow.get(name, 15):  # what a slow page shows, every 15 s
                        slow[name] = waited + 15
                        took.append((self.lag.phase, name, round(waited), self.pages[name].evaluate(STREAMS)["tiles"]))
            return all(seen.values())

        wait(check, timeout=timeout, step=0.5)
        for name in (n for n, ok in seen.items() if not ok):  # what a page that did not see everyone shows
            self.result.setdefault("unseen", []).append(
                {"page": name, "expected": expected[name], "tiles": self.pages[name].evaluate(STREAMS)}
            )
        return seen

    def growth(self, seconds: float, names) -> dict:
        """What each page of NAMES received over SECONDS (packets, frames, bytes) and its open peer connections."""
        before = {name: self.received(name) for name in names}
        time.sleep(seconds)
        after = {name: self.received(name) for name in names}
        return {
            name: {
                "packets": after[name]["audio"] + after[name]["video"] - before[name]["audio"] - before[name]["video"],
                "frames": after[name]["frames"] - before[name]["frames"],
                "bytes": after[name]["bytes"] - before[name]["bytes"],
                "open": after[name]["open"],
            }
            for name in names
        }

    def receiving_again(self, names, timeout: float) -> bool:
        """Wait until each page of NAMES decodes frames (more than 10 over its count now)."""
        counted = {name: self.received(name)["frames"] for name in names}
        return bool(
            wait(lambda: all(self.received(n)["frames"] > counted[n] + 10 for n in names), timeout=timeout, step=0.5)
        )


def text_of(page, selector: str) -> str:
    return page.inner_text(selector) if page.locator(selector).count() else ""


def whole_hearing(world: World, base: str, browser, out: Path) -> dict:
    """The scenario; what it found so far is kept when a step fails (with the error and the phase it failed in)."""
    h = Hearing(world, base, browser, out)
    try:
        _hold(h)
    except Exception:
        h.result["error"] = f"in phase {h.lag.phase}: {traceback.format_exc()}"
    h.phase("done")
    h.result["loop_lag"] = h.lag.summary()
    h.result["udp_after"] = udp_counters()
    h.result.setdefault("udp_drops", {})["done"] = udp_drops()
    h.result["load_average"]["end"] = load_average()
    return h.result


def _hold(h: Hearing) -> None:
    world, base, browser, out, result = h.world, h.base, h.browser, h.out, h.result
    result["udp_before"] = udp_counters()
    h.phase("booking")
    booked = world.book_hearing(base)
    session, gallery_key, hearing = booked["session"], booked["gallery_key"], booked["hearing"]
    sid, hid = session["id"], hearing["id"]
    people = world.org.people
    by_person = {p["person_id"]: p["id"] for p in session["participants"] if p["person_id"] is not None}
    ids = {
        "chair": participant(session, "chair")["id"],
        "room": participant(session, "room")["id"],
        "handler": participant(session, "handler")["id"],
        **{f"member{i}": by_person[people[key].id] for i, key in enumerate(("hearing", "hearing2", "hearing3"), 1)},
    }
    colour_of = {str(ids[name]): colour for name, _, colour in PUBLISHERS}
    result.update(
        session_id=sid,
        hearing_id=hid,
        ids=ids,
        hearing_documents=[d["kind"] for d in hearing["documents"]],
        notice_waived=hearing["notice_waived"],
        public=hearing["public"],
        panel=[(m["name"], m["chosen_by_petitioner"]) for m in hearing["panel"]],
        seats=sorted(p["role"] for p in session["participants"]),
    )
    recorder, office = world.api(base, "clerk"), world.api(base, "coord.county")

    h.phase("joining")
    for name, username, colour in PUBLISHERS:
        _, h.pages[name] = open_page(
            browser, base, username, sid, colour, name, out, fps=CAMERA_FPS, scripts=[WATCH_PEERS]
        )
    chair = h.pages["chair"]
    for name in ("member1", "member2", "member3", "handler", "room"):
        button = f"button.admit[data-participant='{ids[name]}']"
        result.setdefault("lobby_shown", {})[name] = bool(wait(lambda b=button: chair.locator(b).count(), 30))
        chair.click(button)
    for name in GALLERIES:
        h.pages[name] = open_gallery(browser, base, gallery_key, out, name=name, scripts=[WATCH_PEERS])
        ids[name] = wait(
            lambda n=name: h.pages[n].evaluate("() => window.vreceptionCall && window.vreceptionCall.participantId"), 30
        )
    expected = {name: {pid: c for pid, c in colour_of.items() if pid != str(ids.get(name))} for name in h.pages}
    result["everyone_sees_everyone"] = h.all_see(expected, timeout=90)
    result["media_up_s"] = round(time.monotonic() - h.clock_started, 1)
    names = sorted({p["name"] for p in session["participants"] if p["name"]} | {"王五"})
    result["gallery_names_shown"] = {g: [n for n in names if n in h.pages[g].inner_text("body")] for g in GALLERIES}

    h.phase("agenda")
    room, handler, gallery = h.pages["room"], h.pages["handler"], h.pages["gallery1"]
    steps: dict = {}

    def step(name: str) -> None:
        """The chair moves the agenda to step NAME; every page shows it as the current step."""
        chair.click(f"button.agenda-step[data-step='{name}']")
        label = translate(f"call.agenda.{name}")
        steps[name] = {
            "room": bool(
                wait(
                    lambda: (
                        room.get_attribute("#agenda-steps li.current", "data-step") == name
                        if room.locator("#agenda-steps li.current").count()
                        else False
                    )
                )
            ),
            "galleries": bool(wait(lambda: all(label in text_of(h.pages[g], "#agenda-step") for g in GALLERIES))),
        }

    def note(text: str) -> None:
        response = recorder.post(f"/api/v1/sessions/{sid}/record", json={"text": text})
        result.setdefault("entries_status", []).append(response.status_code)

    chair.click("#agenda-next")  # the first step: opening, 回避 asked
    steps["opening"] = {"room": bool(wait(lambda: translate("call.agenda.opening") in text_of(room, "#agenda-step")))}
    step("petitioner_states")
    floor: dict = {}
    chair.click(f"button.floor[data-participant='{ids['room']}']")
    floor["room_has_floor"] = bool(
        wait(
            lambda: (
                room.get_attribute("#floor-holder", "data-participant") == str(ids["room"])
                and translate("call.floor.yours") in text_of(room, "#status")
            )
        )
    )
    floor["room_mic_on"] = room.evaluate("() => window.vreceptionStream.getAudioTracks()[0].enabled")
    note(ENTRIES[0])
    step("handler_answers")
    chair.click(f"button.floor[data-participant='{ids['handler']}']")
    floor["handler_has_floor"] = bool(
        wait(lambda: handler.get_attribute("#floor-holder", "data-participant") == str(ids["handler"]))
    )
    # One speaker at a time: the room's microphone went off when the handler got the floor.
    floor["room_muted"] = bool(
        wait(lambda: room.evaluate("() => !window.vreceptionStream.getAudioTracks()[0].enabled"))
    )
    floor["chair_sees_room_muted"] = bool(
        wait(lambda: translate("call.muted") in text_of(chair, f"#participants li[data-participant='{ids['room']}']"))
    )
    floor["gallery_floor"] = text_of(gallery, "#floor-holder")
    note(ENTRIES[1])

    h.phase("evidence")
    fetched: list = []  # the room's and the galleries' requests for pages of evidence, with their answers
    for name in ("room", *GALLERIES):
        h.pages[name].on(
            "response",
            lambda r, n=name: (
                fetched.append((n, r.url.split("?")[1], r.status, round(time.monotonic(), 1)))
                if "evidence" in r.url
                else None
            ),
        )
    chair.wait_for_selector("#evidence-upload input[type=file]", state="attached")
    wait(lambda: chair.is_visible("#evidence-upload"))
    chair.set_input_files(
        "#evidence-upload input[type=file]",
        files=[
            {
                "name": "补偿款拨付凭证.pdf",
                "mimeType": "application/pdf",
                "buffer": pdf_of_colours((1, 0, 0), (0, 0, 1)),
            }
        ],
    )
    chair.click("#evidence-upload button[type=submit]")
    # The page is shown once the upload is stored: on a busy server that write may wait for the database a while,
    # which is the upload's time, not the room's.
    uploading = time.monotonic()
    evidence: dict = {"uploaded": bool(wait(lambda: chair.get_attribute("#evidence-result", "data-ok") == "yes", 60))}
    evidence["upload_s"] = round(time.monotonic() - uploading, 1)
    evidence["room_page_1"] = bool(room_sees_page(room, 1, "red", timeout=30))
    evidence["room_image_1"] = room.evaluate(EVIDENCE_IMAGE)
    evidence["galleries_page_1"] = {g: wait(lambda g=g: _gallery_shows(h.pages[g], 1, "red"), 30) for g in GALLERIES}
    chair.click("#evidence-next")
    evidence["room_page_2"] = bool(room_sees_page(room, 2, "blue", timeout=30))
    evidence["galleries_page_2"] = {g: wait(lambda g=g: _gallery_shows(h.pages[g], 2, "blue"), 30) for g in GALLERIES}
    evidence["fetched"] = fetched
    chair.screenshot(path=str(out / "whole-hearing-chair.png"), full_page=True)
    gallery.screenshot(path=str(out / "whole-hearing-gallery.png"), full_page=True)
    step("cross_examination")
    chair.click("#floor-take")
    floor["taken_back"] = bool(wait(lambda: not room.get_attribute("#floor-holder", "data-participant")))
    floor["handler_muted"] = bool(
        wait(lambda: handler.evaluate("() => !window.vreceptionStream.getAudioTracks()[0].enabled"))
    )
    step("final_statements")
    result.update(floor=floor, evidence=evidence)

    h.phase("deliberation")
    step("deliberation")
    hub = world.app.state.calls.media.hubs[sid]
    result["hub_before"] = sorted(hub.participants)
    chair.click("#deliberation-start")
    waiting = translate("call.deliberation.waiting"), translate("call.gallery.deliberating")
    result["held_status"] = {
        name: bool(wait(lambda n=name: text_of(h.pages[n], "#status") in waiting, 30)) for name in HELD
    }
    started = wall_clock()  # segments are stamped with the arrival time of their packets
    panel_ids = sorted(str(ids[name]) for name in PANEL)
    # The server lets go of their peer connections; a page sent to the lobby closes its own.
    result["hub_panel_only"] = bool(wait(lambda: sorted(hub.participants) == panel_ids, 30))
    result["held_open_peers"] = {name: h.received(name)["open"] for name in HELD}
    quiet = wall_clock()
    panel_expected = {name: {str(ids[o]): colour_of[str(ids[o])] for o in PANEL if o != name} for name in PANEL}
    result["panel_sees_panel"] = h.all_see(panel_expected, timeout=30)
    result["panel_receiving"] = h.receiving_again(PANEL, timeout=30)
    result["during_deliberation"] = h.growth(WINDOW_S, list(h.pages))
    result["hub_during"] = sorted(hub.participants)
    for i, key in enumerate(("hearing", "hearing2", "hearing3"), 1):
        given = world.api(base, key).post(
            f"/api/v1/hearings/{hid}/opinion", json={"text": f"听证员意见{i}：建议支持补发。"}
        )
        result.setdefault("opinions_status", []).append(given.status_code)
    chair.click("#opinions-refresh")
    result["chair_reads_opinions"] = bool(
        wait(lambda: all(f"听证员意见{i}" in text_of(chair, "#opinion-list") for i in (1, 2, 3)))
    )
    chair.screenshot(path=str(out / "whole-hearing-chair-deliberation.png"), full_page=True)
    gallery.screenshot(path=str(out / "whole-hearing-gallery-deliberation.png"), full_page=True)
    ended = wall_clock()
    chair.click("#deliberation-end")
    result["deliberation_marks"] = {
        "started": started.isoformat(),
        "quiet": quiet.isoformat(),
        "ended": ended.isoformat(),
    }

    h.phase("after_deliberation")
    result["back_receiving"] = h.receiving_again(HELD, timeout=60)
    back = {name: {str(ids["chair"]): "red"} for name in HELD}
    result["back_sees_chair"] = h.all_see(back, timeout=30)
    step("conclusion")
    result["steps"] = steps
    note(ENTRIES[2])
    gallery.screenshot(path=str(out / "whole-hearing-gallery-conclusion.png"), full_page=True)

    h.phase("ending")
    # How often each page rebuilt its peer connection or its socket (a starved server loses ICE consent).
    result["peer_states"] = {name: page.evaluate("() => window.__peerStates") for name, page in h.pages.items()}
    result["welcomes"] = {
        name: page.evaluate("() => window.vreceptionCall.log.filter((m) => m.type === 'welcome').length")
        for name, page in h.pages.items()
    }
    end_call(chair)
    result["state_ended"] = bool(wait(lambda: world.session_state(sid) == "ended", 30))
    result["manifest"] = wait(lambda: world.manifest(sid), timeout=90, step=0.5)

    h.phase("signing")
    room.wait_for_url(f"**/kiosk/sessions/{sid}/sign", timeout=60_000)
    for key in ("handler", "hearing", "hearing2", "hearing3", "clerk"):
        confirmed = world.api(base, key).post(f"/api/v1/sessions/{sid}/record/confirm")
        result.setdefault("confirmations_status", {})[key] = confirmed.status_code
    result["kiosk_shows_entries"] = all(entry in text_of(room, "#record-text") for entry in ENTRIES)
    signer = room.locator(".signer[data-state='waiting']")
    result["kiosk_signers"] = room.locator(".signer h3").all_inner_texts()
    signer_id = signer.first.get_attribute("data-participant")
    card = room.locator(f".signer[data-participant='{signer_id}']")
    card.locator("canvas.pad").scroll_into_view_if_needed()  # mouse events land only inside the viewport
    _draw(
        room, card.locator("canvas.pad"), [[(0.1, 0.6), (0.2, 0.3), (0.3, 0.7), (0.4, 0.35)], [(0.5, 0.5), (0.8, 0.5)]]
    )
    card.locator("[data-sign]").click()
    result["kiosk_signed"] = bool(wait(lambda: card.get_attribute("data-state") == "signed", 30))
    room.screenshot(path=str(out / "whole-hearing-kiosk-signed.png"), full_page=True)
    chair.goto(f"{base}/sessions/{sid}/record")
    chair.click("#record-confirm")
    chair.wait_for_selector("#record-document", timeout=30_000)
    result["record"] = recorder.get(f"/api/v1/sessions/{sid}/record").json()
    result["record_document"] = _document(world, result["record"]["document_id"])

    h.phase("conclusion")
    concluded = office.post(
        f"/api/v1/hearings/{hid}/conclusion",
        json={"conclusion": "经听证，补偿款应于三十日内拨付到位，支持信访人的请求。"},
    )
    result["conclusion_status"] = concluded.status_code
    result["hearing_after"] = {
        k: concluded.json().get(k)
        for k in ("state", "started_at", "ended_at", "conclusion_document_id", "excluded_days")
    }
    result["conclusion_document"] = _document(world, result["hearing_after"]["conclusion_document_id"])


def _gallery_shows(page, number: int, colour: str) -> bool:
    shown = page.evaluate(GALLERY_EVIDENCE)
    return bool(shown and shown["caption"].startswith(f"{number} /") and near(shown["rgb"], colour))


def _document(world: World, document_id: int | None) -> dict | None:
    """The issued document's kind, number, whether its hash holds, and its text (HTML)."""
    from vreception import documents
    from vreception.models import Document

    if document_id is None:
        return None
    with world.db.transaction() as s:
        document = s.get(Document, document_id)
        assert document is not None
        return {
            "kind": document.kind,
            "number": document.number,
            "intact": documents.intact(document),
            "html": document.html,
        }


def main(out: Path) -> int:
    started = os.times()
    code = run("whole_hearing", whole_hearing, out)
    # CPU of this process (server and driver) and of Chromium (a child of Playwright's driver, reaped by now).
    spent = os.times()
    path = out / "result.json"
    result = json.loads(path.read_text())
    result["cpu_s"] = {
        "server_and_driver": round(spent.user + spent.system - started.user - started.system, 1),
        "browser": round(
            spent.children_user + spent.children_system - started.children_user - started.children_system, 1
        ),
    }
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
