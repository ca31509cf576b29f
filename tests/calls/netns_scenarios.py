"""Real-Chromium call scenarios, run inside a private network namespace (`unshare -n`).

Usage: python -m tests.calls.netns_scenarios SCENARIO OUT_DIR
Writes OUT_DIR/result.json and screenshots. The server, the browsers and all media stay on
127.0.0.1 of a namespace of their own, so nothing reaches another address.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2 as httpx

from tests.browser import CHROMIUM, FLAGS, live_server
from tests.factories import PASSWORD, app_settings, build_org, matter_body, sign_in_browser
from vreception import audit, clock
from vreception.db import Database
from vreception.migrations import upgrade

FAKE_MEDIA = """
(() => {
  const colour = %s;
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const canvas = document.createElement("canvas");
    canvas.width = 320; canvas.height = 240;
    const ctx = canvas.getContext("2d");
    let x = 0;
    const draw = () => { ctx.fillStyle = colour; ctx.fillRect(0, 0, 320, 240);
                         ctx.fillStyle = "#ffffff"; ctx.fillRect(x, 4, 12, 12); x = (x + 4) %% 300; };
    // A test may slow the camera down (window.__fakeCameraFps, set by open_page) to spare a loaded machine.
    const fps = window.__fakeCameraFps || 30;
    draw(); setInterval(draw, 1000 / fps);
    const stream = canvas.captureStream(fps);
    if (constraints && constraints.audio) {
      const audio = new AudioContext();
      const oscillator = audio.createOscillator();
      const destination = audio.createMediaStreamDestination();
      oscillator.connect(destination); oscillator.start();
      stream.addTrack(destination.stream.getAudioTracks()[0]);
    }
    return stream;
  };
})();
"""

PIXEL = """(publisher) => {
  const video = document.querySelector(`figure[data-publisher="${publisher}"] video`);
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(video, 0, 0);
  return Array.from(ctx.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data.slice(0, 3));
}"""

INBOUND = """async () => {
  const call = window.vreceptionCall;
  if (!call || !call.pc) return {audio: 0, video: 0};
  const out = {audio: 0, video: 0, framesDecoded: 0};
  (await call.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp") { out[r.kind] += r.packetsReceived || 0; if (r.kind === "video") out.framesDecoded += r.framesDecoded || 0; }
  });
  return out;
}"""

# The server's RTCP as Chromium read it: per kind, the round trip its receiver reports gave for what the page sends
# (-1: a report without one) and the packets its sender reports said were sent to the page.
REPORTS = """async () => {
  const call = window.vreceptionCall;
  const out = {rtt: {}, sent: {}};
  if (!call || !call.pc) return out;
  (await call.pc.getStats()).forEach((r) => {
    if (r.type === "remote-inbound-rtp") out.rtt[r.kind] = r.roundTripTime === undefined ? -1 : r.roundTripTime;
    if (r.type === "remote-outbound-rtp") out.sent[r.kind] = r.packetsSent || 0;
  });
  return out;
}"""

# Watches, from page start, when the peer connects and when each remote video first decodes a frame.
FIRST_FRAMES = """
window.__firstFrames = {};
window.__connectedAt = null;
setInterval(async () => {
  const call = window.vreceptionCall;
  if (!call || !call.pc) return;
  if (call.pc.connectionState === "connected" && window.__connectedAt === null) window.__connectedAt = performance.now();
  (await call.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video" && (r.framesDecoded || 0) > 0 && !(r.trackIdentifier in window.__firstFrames))
      window.__firstFrames[r.trackIdentifier] = performance.now();
  });
}, 20);
"""

COLOURS = {"red": (255, 0, 0), "blue": (0, 0, 255), "green": (0, 200, 0), "yellow": (255, 255, 0),
           "magenta": (255, 0, 255), "cyan": (0, 255, 255)}
ZONE = ZoneInfo("Asia/Shanghai")  # the platform's time zone (settings.time_zone)
CSS = {"red": "#ff0000", "blue": "#0000ff", "green": "#00c800", "yellow": "#ffff00", "magenta": "#ff00ff",
       "cyan": "#00ffff"}


def near(rgb, colour, tolerance=60) -> bool:
    return rgb is not None and all(abs(a - b) <= tolerance for a, b in zip(rgb, COLOURS[colour], strict=True))


def wait(predicate, timeout=20.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class World:
    """A fresh SQLite platform on loopback with the test organisation and a browser."""

    def __init__(self, out: Path):
        self.out = out
        url = f"sqlite:///{out / 'calls.db'}"
        upgrade(url)
        self.db = Database(url)
        secret = "b" * 48
        # Keyed from the first event, as the app keys it: one chain, one key.
        self.db.use_audit_key(audit.key_from_secret(secret))
        self.org = build_org(self.db)
        from vreception.app import create_app

        self.settings = app_settings(self.db, out / "var", secret_key=secret)
        self.app = create_app(self.settings, self.db)
        self.server: Any = None  # the uvicorn server serving it, once run() started one

    def session_state(self, session_id):
        """The session's state in the database."""
        from vreception.models.scheduling import ReceptionSession

        with self.db.transaction() as s:
            return s.get(ReceptionSession, session_id).state.value

    def finalised_recording(self, s, session_id):
        """The session's finalised recording in session S, or None while it is not ready."""
        from recordings.service import recordings_of

        done = [r for r in recordings_of(db=s, session_id=session_id) if r.state.value == "finalised"]
        return done[0] if done else None

    def recording_streams(self, session_id):
        """The finalised recording's video and audio track counts, or None while it is not ready."""
        from recordings.probe import probe

        with self.db.transaction() as s:
            done = self.finalised_recording(s, session_id)
            if done is None:
                return None
            path = self.settings.data_dir / "recordings" / done.media_key
        found = probe(path)
        return {"video": len(found.of("video")), "audio": len(found.of("audio")),
                "duration_s": round(found.duration, 1)}

    def manifest(self, session_id):
        """The finalised recording's manifest and whether `recordings verify` passes, or None before."""
        from recordings.service import verify
        from recordings.storage import storage_from_settings

        with self.db.transaction() as s:
            done = self.finalised_recording(s, session_id)
            if done is None:
                return None
            report = verify(db=s, recording=done, storage=storage_from_settings(self.settings))
            return {"document": json.loads(done.manifest), "verify": report.as_dict()}

    def shown_pages(self, session_id):
        """The pages of evidence shown in the session so far, as stored (the audit events the manifest lists)."""
        from sqlalchemy import select

        from vreception.models import AuditEvent

        with self.db.transaction() as s:
            rows = s.scalars(select(AuditEvent).where(AuditEvent.entity_type == "session",
                                                      AuditEvent.entity_id == str(session_id),
                                                      AuditEvent.action == "call.evidence_shown")
                             .order_by(AuditEvent.seq))
            return [json.loads(row.data or "{}").get("page") for row in rows]

    def desk_rows(self, session_id):
        """The reception records and the tasks born in this session."""
        from sqlalchemy import select

        from vreception.models import Task
        from vreception.models.records import ReceptionRecord

        with self.db.transaction() as s:
            # The notes are entries of the session's record, issued as a document once signed and confirmed.
            records = s.scalars(select(ReceptionRecord).where(ReceptionRecord.session_id == session_id)).all()
            born = s.scalars(select(Task).where(Task.session_id == session_id)).all()
            return {"records": [r.id for r in records], "tasks": [t.title for t in born],
                    "record_has_notes": any("责成县自然资源局" in e.text for r in records for e in r.entries)}

    def api(self, base, username):
        client = httpx.Client(base_url=base, timeout=30)
        token = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        return client

    def book(self, base, *, kind="reception", extra=()):
        office = self.api(base, "coord.county")
        matter = office.post("/api/v1/matters", json=matter_body(self.org, name="王五", phone=None,
                                                                 summary="土地补偿款未到位", category="land")).json()
        response = office.post("/api/v1/sessions", json={
            "kind": kind, "leader_id": self.org.people["leader_county"].id, "room_ids": [self.org.rooms["township"].id],
            "matter_id": matter["id"], "ad_hoc": True, "reason": "现场接访", "participants": list(extra)})
        assert response.status_code == 201, response.text
        return response.json()

    def book_hearing(self, base):
        """A public hearing of 王五's accepted matter, built through the API as the county coordinator: roster,
        proposal, decision, the county leader as chair, a recorder, a panel of three, booked with the notice
        waived. Booking closes the day before (17:00), so the clock books on a working day and then runs on from
        10:00 of the next one, the hearing's start; returns the session and the gallery key."""
        from tests.hearings.helpers import booking, members, roster, staff

        booked_on = working_day_after(datetime.now(ZONE).date())
        held_on = working_day_after(booked_on)
        start = datetime.combine(held_on, dt_time(10), ZONE)
        clock.travel_to(datetime.combine(booked_on, dt_time(10), ZONE), freeze=False)
        staff(self.db, self.org)
        office = self.api(base, "coord.county")
        matter = office.post("/api/v1/matters", json=matter_body(self.org, name="王五", phone=None,
                                                                 summary="土地补偿款未到位", category="land")).json()
        accepted = office.post(f"/api/v1/matters/{matter['id']}/actions", json={"action": "accept"})
        assert accepted.status_code == 200, accepted.text
        roster(office, self.org, {})
        proposed = office.post(f"/api/v1/matters/{matter['id']}/hearings",
                               json={"by_petitioner": True, "reason": "事实争议较大"})
        assert proposed.status_code == 201, proposed.text
        hid = proposed.json()["id"]
        for method, path, body in (
                ("POST", "decision", {"hold": True}),
                ("PUT", "chair", {"chair_id": self.org.people["leader_county"].id,
                                  "recorder_id": self.org.people["clerk"].id}),
                ("PUT", "panel", members(self.org, "hearing", "hearing2", "hearing3", chosen=("hearing2",))),
                ("PUT", "publicity", {"public": True})):
            response = office.request(method, f"/api/v1/hearings/{hid}/{path}", json=body)
            assert response.status_code == 200, f"{path}: {response.text}"
        booked = office.post(f"/api/v1/hearings/{hid}/booking", json=booking(
            self.org, start, petitioners=["王五"], notice_waived=True, waiver_note="信访人书面放弃七日通知期限。"))
        assert booked.status_code == 201, booked.text
        hearing = booked.json()
        session = office.get(f"/api/v1/sessions/{hearing['session_id']}")
        assert session.status_code == 200, session.text
        clock.travel_to(start + timedelta(seconds=30), freeze=False)
        return {"session": session.json(), "gallery_key": hearing["gallery_key"], "hearing": hearing}


def working_day_after(day):
    """The first Monday-to-Friday day after DAY."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def open_page(browser, base, username, session_id, colour, name, out, watch_first_frames=False, fps=None,
              scripts=()):
    """USERNAME's call page of SESSION_ID in a context of its own, its camera a canvas of COLOUR (at FPS frames a
    second when given), with the init SCRIPTS added."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    if fps is not None:
        context.add_init_script(f"window.__fakeCameraFps = {int(fps)};")
    context.add_init_script(FAKE_MEDIA % json.dumps(CSS[colour]))
    if watch_first_frames:
        context.add_init_script(FIRST_FRAMES)
    for script in scripts:
        context.add_init_script(script)
    page = context.new_page()
    sign_in_browser(page, base, username)  # each role lands on its own page
    page.goto(f"{base}/calls/{session_id}")
    page.on("console", lambda m: (out / f"{name}.console.txt").open("a").write(f"{m.type}: {m.text}\n"))
    page.on("pageerror", lambda e: (out / f"{name}.console.txt").open("a").write(f"pageerror: {e}\n"))
    return context, page


def end_call(page) -> None:
    """The moderator ends the call for everyone: the end button, then its confirmation."""
    page.click("#btn-end")
    page.click("#btn-end-confirm")


def participant(session, role):
    return next(p for p in session["participants"] if p["role"] == role)


def sees(page, publisher_id, colour, timeout=20.0):
    return wait(lambda: near(page.evaluate(PIXEL, str(publisher_id)), colour), timeout)


def _reported(reports):
    """REPORTS when both kinds have a round trip and a sender report with packets, else None."""
    kinds = {"audio", "video"}
    if set(reports["rtt"]) == kinds and set(reports["sent"]) == kinds and min(reports["rtt"].values()) >= 0 \
            and min(reports["sent"].values()) > 0:
        return reports
    return None


def two_party(world, base, browser, out):
    session = world.book(base)
    room_id, leader_id = participant(session, "room")["id"], participant(session, "leader")["id"]
    result = {"session_id": session["id"]}
    _, room = open_page(browser, base, "room.township", session["id"], "blue", "room", out)
    result["room_waiting"] = bool(wait(lambda: "请稍候" in room.inner_text("#status")))
    room.screenshot(path=str(out / "call-room-waiting.png"))
    _, leader = open_page(browser, base, "leader.county", session["id"], "red", "leader", out)
    result["lobby_shown"] = bool(wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count()))
    leader.click(f"button.admit[data-participant='{room_id}']")
    result["leader_sees_room"] = bool(sees(leader, room_id, "blue"))
    result["room_sees_leader"] = bool(sees(room, leader_id, "red"))
    result["leader_audio_packets"] = wait(lambda: leader.evaluate(INBOUND)["audio"] > 50 and leader.evaluate(INBOUND)["audio"])
    result["room_audio_packets"] = wait(lambda: room.evaluate(INBOUND)["audio"] > 50 and room.evaluate(INBOUND)["audio"])
    result["state_live"] = bool(wait(lambda: leader.get_attribute("#call-state", "data-state") == "live"))
    result["recording_badge"] = leader.is_visible("#recording")
    result["reports"] = {name: wait(lambda page=page: _reported(page.evaluate(REPORTS)), timeout=10)
                         or page.evaluate(REPORTS) for name, page in (("leader", leader), ("room", room))}
    # about a second more of video decoded on both sides before the pictures are taken
    shown = [(page, page.evaluate(INBOUND)["framesDecoded"]) for page in (leader, room)]
    wait(lambda: all(page.evaluate(INBOUND)["framesDecoded"] >= before + 20 for page, before in shown), timeout=5)
    leader.screenshot(path=str(out / "call-leader.png"))
    room.screenshot(path=str(out / "call-room.png"))
    # The leader's desk during the call: the reception record and a task, without leaving the call.
    leader.fill("#record-form textarea[name=notes]", "信访人陈述土地补偿款未到位；领导答复：责成县自然资源局十日内核实。")
    leader.click("#record-form button[type=submit]")
    result["record_saved"] = wait(lambda: leader.get_attribute("#record-result", "data-ok") == "yes"
                                  and leader.inner_text("#record-result"))
    leader.fill("#task-form input[name=title]", "核实土地补偿款发放情况")
    leader.fill("#task-form input[name=due_on]", (datetime.now(UTC) + timedelta(days=10)).date().isoformat())
    leader.click("#task-form button[type=submit]")
    result["task_assigned"] = wait(lambda: leader.get_attribute("#task-result", "data-ok") == "yes"
                                   and leader.inner_text("#task-result"))
    result["still_live"] = leader.get_attribute("#call-state", "data-state") == "live" and \
        near(leader.evaluate(PIXEL, str(room_id)), "blue")
    result["desk_rows"] = world.desk_rows(session["id"])
    leader.screenshot(path=str(out / "call-leader-desk.png"), full_page=True)
    result["leader_log"] = leader.evaluate("() => window.vreceptionCall.log")
    result["room_log"] = room.evaluate("() => window.vreceptionCall.log")
    result["leader_tracks"] = leader.evaluate("() => [...window.vreceptionCall.remoteStreams.keys()]")
    # A slip of the hand ends nothing: the end button asks first, and going on keeps the call live for everyone.
    leader.click("#btn-end")
    result["end_asked"] = leader.is_visible("#end-confirm") and "确定结束" in leader.inner_text("#end-confirm")
    leader.screenshot(path=str(out / "call-leader-end-asked.png"))
    leader.click("#btn-end-cancel")
    time.sleep(0.5)
    result["cancel_kept_call"] = not leader.is_visible("#end-confirm") and world.session_state(session["id"]) == "live" \
        and leader.get_attribute("#call-state", "data-state") == "live" and "结束" not in room.inner_text("#status")
    end_call(leader)
    result["room_saw_end"] = bool(wait(lambda: "结束" in room.inner_text("#status")))
    result["state_ended"] = bool(wait(lambda: world.session_state(session["id"]) == "ended"))
    result["recording"] = wait(lambda: world.recording_streams(session["id"]), timeout=30)
    # The coordinator plays the recording on the matter page and seeks in it.
    _, office = open_page(browser, base, "coord.county", session["id"], "green", "office", out)
    office.goto(f"{base}/matters/{session['matter_id']}")
    office.wait_for_selector("video.playback")
    result["playback"] = office.evaluate("""async () => {
      const video = document.querySelector("video.playback");
      video.muted = true;
      if (video.readyState < 1) await new Promise((ok) => video.addEventListener("loadedmetadata", ok, {once: true}));
      const seeked = new Promise((ok) => video.addEventListener("seeked", ok, {once: true}));
      video.currentTime = 1.5;
      await seeked;
      await video.play();
      await new Promise((ok) => setTimeout(ok, 500));
      return {error: video.error && video.error.code, duration: video.duration, time: video.currentTime,
              width: video.videoWidth};
    }""")
    office.screenshot(path=str(out / "matter-recording.png"), full_page=True)
    return result


def hearing(world, base, browser, out):
    booked = world.book_hearing(base)
    session, gallery_key = booked["session"], booked["gallery_key"]
    ids = {role: participant(session, role)["id"] for role in ("chair", "room", "hearing_member")}
    names = sorted({p["name"] for p in session["participants"] if p["name"]} | {"王五"})
    result = {"session_id": session["id"], "chair_seat": bool(session["leader_id"] == world.org.people["leader_county"].id)}
    _, chair = open_page(browser, base, "leader.county", session["id"], "red", "chair", out)
    _, room = open_page(browser, base, "room.township", session["id"], "blue", "room", out)
    wait(lambda: chair.locator(f"button.admit[data-participant='{ids['room']}']").count())
    chair.click(f"button.admit[data-participant='{ids['room']}']")
    result["chair_sees_room"] = bool(sees(chair, ids["room"], "blue"))
    # The hearing member joins late: their first frames must come within a second of connecting.
    _, member = open_page(browser, base, "hearing", session["id"], "green", "member", out, watch_first_frames=True)
    wait(lambda: chair.locator(f"button.admit[data-participant='{ids['hearing_member']}']").count())
    chair.click(f"button.admit[data-participant='{ids['hearing_member']}']")
    result["member_sees_chair"] = bool(sees(member, ids["chair"], "red"))
    result["member_sees_room"] = bool(sees(member, ids["room"], "blue"))
    result["chair_sees_member"] = bool(sees(chair, ids["hearing_member"], "green"))
    result["room_sees_member"] = bool(sees(room, ids["hearing_member"], "green"))
    result["room_sees_chair"] = bool(sees(room, ids["chair"], "red"))
    timing = member.evaluate("() => ({connected: window.__connectedAt, first: window.__firstFrames})")
    firsts = sorted(timing["first"].values())
    result["late_joiner_first_frames_ms"] = [round(v - timing["connected"]) for v in firsts] if timing["connected"] else None
    # The member's signalling, in ms from connecting, for when the first frames come late.
    result["late_joiner_log"] = member.evaluate("""(connected) => window.vreceptionCall.log.map(
      (m) => [m.type, Math.round(m.at - performance.timeOrigin - connected)])""", timing["connected"] or 0)
    member.screenshot(path=str(out / "call-hearing.png"))
    # The public gallery: no sign-in, no camera, watch only, roles instead of names.
    gallery = open_gallery(browser, base, gallery_key, out)
    result["gallery_admitted"] = bool(wait(lambda: gallery.evaluate(
        "() => !!(window.vreceptionCall && window.vreceptionCall.admitted)")))
    result["gallery_sees_chair"] = bool(sees(gallery, ids["chair"], "red"))
    gallery_text = gallery.inner_text("body")
    result["gallery_names_shown"] = [name for name in names if name in gallery_text]
    result["gallery_speakers"] = gallery.eval_on_selector_all("#participants li", "items => items.map(i => i.textContent)")
    # The chair moves the order of proceedings one step on; everyone sees the step.
    first_step = chair.inner_text("#agenda-steps li:first-child").strip()
    chair.click("#agenda-next")
    result["agenda_first_step"] = first_step
    result["room_agenda"] = wait(lambda: first_step in room.inner_text("#agenda-step") and room.inner_text("#agenda-step"))
    result["room_current_step"] = room.get_attribute("#agenda-steps li.current", "data-step") \
        if room.locator("#agenda-steps li.current").count() else None
    result["gallery_agenda"] = wait(lambda: first_step in gallery.inner_text("#agenda-step")
                                    and gallery.inner_text("#agenda-step"))
    chair.screenshot(path=str(out / "call-hearing-chair.png"), full_page=True)
    # The private deliberation (合议): the room and the gallery wait in the lobby and receive nothing.
    chair.click("#deliberation-start")
    result["room_waiting_status"] = wait(lambda: "合议" in room.inner_text("#status") and room.inner_text("#status"))
    result["gallery_waiting_status"] = wait(lambda: "合议" in gallery.inner_text("#status")
                                            and gallery.inner_text("#status"))
    result["room_held"] = room.evaluate("() => window.vreceptionCall.admitted") is False
    result["gallery_held"] = gallery.evaluate("() => window.vreceptionCall.admitted") is False
    result["chair_deliberating_badge"] = chair.is_visible("#deliberating")
    # Packets already on their way when the lobby closed count until the page has closed its peer connection.
    wait(lambda: peer_closed(room) and peer_closed(gallery))
    # A page sent to the lobby closes its peer connection, and the server forwards it nothing meanwhile.
    result["held_peers"] = {name: page.evaluate("() => window.vreceptionCall.pc ? window.vreceptionCall.pc.connectionState : null")
                            for name, page in (("room", room), ("gallery", gallery))}
    result["during_deliberation"] = growth(2.0, room=room, gallery=gallery, member=member)
    result["member_sees_chair_in_deliberation"] = bool(sees(member, ids["chair"], "red"))
    gallery.screenshot(path=str(out / "hearing-gallery-deliberation.png"))
    chair.click("#deliberation-end")
    result["room_back_status"] = wait(lambda: room.evaluate("() => window.vreceptionCall.admitted")
                                      and room.inner_text("#status"))
    # Back in the hearing each page negotiates a fresh peer connection: wait for its first frames, then measure.
    resumed = time.monotonic()
    result["media_back"] = bool(wait(lambda: all(page.evaluate(INBOUND).get("framesDecoded", 0) > 10
                                                 for page in (room, gallery)), timeout=20))
    result["media_back_s"] = round(time.monotonic() - resumed, 1)
    result["after_deliberation"] = growth(2.0, room=room, gallery=gallery)
    result["room_sees_chair_again"] = bool(sees(room, ids["chair"], "red"))
    result["gallery_sees_chair_again"] = bool(sees(gallery, ids["chair"], "red"))
    gallery.screenshot(path=str(out / "hearing-gallery.png"))
    return result


def peer_closed(page) -> bool:
    """The page has no peer connection or has closed it (a page sent to the lobby does): it counts no more packets."""
    return page.evaluate("""() => {
      const pc = window.vreceptionCall && window.vreceptionCall.pc;
      return !pc || pc.connectionState === "closed";
    }""")


def frames_grow(page, frames: int, timeout: float = 20.0):
    """Wait until PAGE has decoded FRAMES more video frames than now (media flows through the server meanwhile)."""
    first = page.evaluate(INBOUND).get("framesDecoded", 0)
    return wait(lambda: page.evaluate(INBOUND).get("framesDecoded", 0) >= first + frames, timeout)


def growth(seconds, **pages):
    """How many RTP packets (audio + video) and video frames each page received over SECONDS."""
    before = {name: page.evaluate(INBOUND) for name, page in pages.items()}
    time.sleep(seconds)
    after = {name: page.evaluate(INBOUND) for name, page in pages.items()}
    return {name: {"packets": after[name]["audio"] + after[name]["video"] - before[name]["audio"] - before[name]["video"],
                   "frames": after[name].get("framesDecoded", 0) - before[name].get("framesDecoded", 0)}
            for name in pages}


def open_gallery(browser, base, key, out, name="gallery", scripts=()):
    """A public gallery viewer's page: no sign-in and no fake camera (the gallery never opens one)."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    for script in scripts:
        context.add_init_script(script)
    page = context.new_page()
    page.on("console", lambda m: (out / f"{name}.console.txt").open("a").write(f"{m.type}: {m.text}\n"))
    page.on("pageerror", lambda e: (out / f"{name}.console.txt").open("a").write(f"pageerror: {e}\n"))
    page.goto(f"{base}/gallery/{key}")
    return page


def rejoin(world, base, browser, out):
    session = world.book(base)
    room_id, leader_id = participant(session, "room")["id"], participant(session, "leader")["id"]
    result = {"session_id": session["id"]}
    _, leader = open_page(browser, base, "leader.county", session["id"], "red", "leader", out)
    room_context, room = open_page(browser, base, "room.township", session["id"], "blue", "room", out)
    wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count())
    leader.click(f"button.admit[data-participant='{room_id}']")
    result["before"] = bool(sees(leader, room_id, "blue"))
    room_context.close()  # the kiosk's tab is closed
    result["leader_saw_room_drop"] = bool(wait(
        lambda: leader.locator(f"#participants li[data-participant='{room_id}']").count()
        and "⚪" in leader.inner_text(f"#participants li[data-participant='{room_id}']")))
    _, room_again = open_page(browser, base, "room.township", session["id"], "green", "room2", out)
    wait(lambda: room_again.evaluate("() => window.vreceptionCall && window.vreceptionCall.admitted"))
    result["rejoin_messages"] = room_again.evaluate("() => window.vreceptionCall.log.map(m => m.type)")
    result["after_room_sees_leader"] = bool(sees(room_again, leader_id, "red"))
    result["after_leader_sees_room"] = bool(sees(leader, room_id, "green"))
    result["state"] = world.session_state(session["id"])
    return result


def restart(world, base, browser, out):
    """The room's page rebuilds its peer connection on the same socket (what call.js does when the connection
    fails): the hub retires the room's old tracks and forwards its new ones to the leader in the same renegotiation."""
    session = world.book(base)
    room_id, leader_id = participant(session, "room")["id"], participant(session, "leader")["id"]
    _, leader = open_page(browser, base, "leader.county", session["id"], "red", "leader", out)
    _, room = open_page(browser, base, "room.township", session["id"], "blue", "room", out)
    wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count())
    leader.click(f"button.admit[data-participant='{room_id}']")
    result = {"before": bool(sees(leader, room_id, "blue")) and bool(sees(room, leader_id, "red"))}
    room.evaluate("() => { const call = window.vreceptionCall; call.queue = call.queue.then(() => call.startMedia()); }")
    answers = "() => window.vreceptionCall.log.filter((m) => m.type === 'answer').length"
    result["room_answered_twice"] = bool(wait(lambda: room.evaluate(answers) >= 2))
    # A tile keeps showing its last frame: the leader must decode new frames of the room, not just see blue.
    decoded = leader.evaluate(INBOUND)["framesDecoded"]
    result["leader_decodes_again"] = bool(wait(lambda: leader.evaluate(INBOUND)["framesDecoded"] > decoded + 20, 30))
    result["leader_sees_room_again"] = bool(sees(leader, room_id, "blue", timeout=30))
    result["room_sees_leader_again"] = bool(sees(room, leader_id, "red", timeout=30))
    hub = world.app.state.calls.media.hubs[session["id"]]
    result["leader_watches"] = sorted(t["publisher"] for t in hub.forwarded_tracks(str(leader_id)))
    return result


SCENARIOS = {"two_party": two_party, "hearing": hearing, "rejoin": rejoin, "restart": restart}


def run(name: str, scenario, out: Path) -> int:
    """Bring up loopback, serve a fresh World and run SCENARIO in Chromium; its result goes to out/result.json."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    out.mkdir(parents=True, exist_ok=True)
    import logging

    logging.basicConfig(filename=str(out / "server.log"), level=logging.INFO)
    result: dict = {"scenario": name}
    try:
        from playwright.sync_api import sync_playwright

        world = World(out)
        with live_server(world.app, started=lambda server: setattr(world, "server", server)) as base, \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=FLAGS + ["--autoplay-policy=no-user-gesture-required"])
            try:
                started = time.monotonic()
                result.update(scenario(world, base, browser, out))
                result["seconds"] = round(time.monotonic() - started, 1)
            finally:
                browser.close()
    except Exception:
        result["error"] = traceback.format_exc()
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


def main(name: str, out: Path) -> int:
    return run(name, SCENARIOS[name], out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
