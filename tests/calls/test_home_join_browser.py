"""手机视频接访 in real Chromium: a phone (390×844, touch, mobile UA, portrait, through CDP) opens the SMS link, passes
the code read from the local SMPP server, waits in the lobby, is admitted by the leader (a second page), both see
each other's camera, the replayed link is refused, and the recording holds the phone's tracks.

The pytest test runs the scenario below in a private network namespace:
python -m tests.calls.test_home_join_browser OUT_DIR
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

from tests.browser import run_in_namespace

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.media]

PHONE = {"width": 390, "height": 844}
MOBILE_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/126.0.0.0 Mobile Safari/537.36")
# Keeps what the page asked of the camera (the fake camera below answers any constraints).
CONSTRAINTS = """
(() => {
  const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => { window.__asked = constraints; return ask(constraints); };
})();
"""
PHONE_FACTS = """() => ({
  width: window.innerWidth, height: window.innerHeight, touch: navigator.maxTouchPoints,
  mobileUa: /Mobile/.test(navigator.userAgent), portrait: matchMedia("(orientation: portrait)").matches,
  coarse: matchMedia("(pointer: coarse)").matches, phoneLayout: document.getElementById("call").classList.contains("phone"),
  facing: window.__asked && window.__asked.video && window.__asked.video.facingMode,
  consent: (document.getElementById("home-consent") || {}).textContent || "",
  buttons: [...document.querySelectorAll("#controls button")].filter((b) => b.offsetParent)
    .map((b) => Math.round(b.getBoundingClientRect().height)),
  scrollWidth: document.documentElement.scrollWidth,
})"""


def test_a_petitioner_joins_from_a_phone_by_the_sms_link_and_code(tmp_path):
    result = run_in_namespace("tests.calls.test_home_join_browser", [], tmp_path / "home_join")
    print("home_join:", json.dumps({k: v for k, v in result.items() if k not in ("link_sms",)}, ensure_ascii=False))
    assert result["link_sms"] and result["code_sms"], result
    phone = result["phone"]
    assert (phone["width"], phone["height"], phone["touch"] > 0) == (390, 844, True), phone
    assert phone["mobileUa"] and phone["portrait"] and phone["coarse"] and phone["phoneLayout"], phone
    assert phone["facing"] == "user" and "录音录像" in phone["consent"], phone
    assert phone["buttons"] and min(phone["buttons"]) >= 48, phone  # large enough for a thumb
    assert phone["scrollWidth"] <= 390, phone  # nothing wider than the phone
    assert result["phone_in_lobby"] and result["lobby_shown"]
    assert result["leader_list_label"] == "在家接入 · 已短信验证", result["leader_list_label"]
    assert result["leader_sees_phone"] and result["phone_sees_leader"]
    assert result["phone_audio_packets"] > 50 and result["leader_audio_packets"] > 50
    assert result["state_live"]
    assert result["replay_status"] == 403 and "已在另一部手机" in result["replay_text"]
    assert result["recording"]["video"] == 2 and result["recording"]["audio"] == 2, result["recording"]
    assert {"home_join.issued", "home_join.opened", "home_join.code_sent", "home_join.verified",
            "home_join.refused"} <= set(result["audited"])


# ---- the scenario, inside the namespace ---------------------------------------------------------------------------

def phone_page(browser, colour: str, out: Path):
    """A fresh browser emulating a phone through CDP: 390×844 portrait at 3×, touch, a mobile user agent."""
    from tests.calls.netns_scenarios import CSS, FAKE_MEDIA

    # has_touch: Playwright taps only in a touch context; the metrics, touch points and user agent come from CDP.
    context = browser.new_context(locale="zh-CN", viewport=PHONE, has_touch=True)
    context.add_init_script(FAKE_MEDIA % json.dumps(CSS[colour]))
    context.add_init_script(CONSTRAINTS)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Emulation.setDeviceMetricsOverride", {**PHONE, "deviceScaleFactor": 3, "mobile": True,
                                                    "screenOrientation": {"type": "portraitPrimary", "angle": 0}})
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    cdp.send("Emulation.setEmitTouchEventsForMouse", {"enabled": True, "configuration": "mobile"})
    cdp.send("Emulation.setUserAgentOverride", {"userAgent": MOBILE_UA, "platform": "Android"})
    page.on("console", lambda m: (out / "phone.console.txt").open("a").write(f"{m.type}: {m.text}\n"))
    return context, page


def scenario(world, base, browser, out: Path) -> dict:
    from sqlalchemy import select

    from tests.calls.netns_scenarios import INBOUND, end_call, open_page, participant, sees, wait
    from tests.core.smpp_server import SmscServer
    from tests.factories import matter_body
    from vreception.cases.identity import Protector
    from vreception.models import AuditEvent
    from vreception.sms import outbox
    from vreception.sms.settings import SmsSettings
    from vreception.sms.smpp import SmppGateway

    smsc = SmscServer().start()
    gateway = lambda: SmppGateway(host="127.0.0.1", port=smsc.port, system_id="vreception",  # noqa: E731
                                  password="secret", source_addr="10612345", timeout=5)
    protector = Protector(world.settings.effective_secret_key())
    sms = SmsSettings(_env_file=None)

    def deliver() -> list:
        """Run the SMS outbox against the local SMSC; what the phones have received so far."""
        outbox.send_due(world.db, gateway=gateway(), protector=protector, settings=sms)
        return smsc.received()

    result: dict = {}
    try:
        office = world.api(base, "coord.county")
        matter = office.post("/api/v1/matters", json=matter_body(world.org, name="王五", phone="13912345678",
                                                                 summary="土地补偿款未到位", category="land")).json()
        booked = office.post("/api/v1/sessions", json={
            "kind": "reception", "leader_id": world.org.people["leader_county"].id,
            "room_ids": [world.org.rooms["township"].id], "matter_id": matter["id"], "ad_hoc": True,
            "reason": "信访人在家参加", "participants": [{"role": "petitioner", "name": "王五"}]})
        assert booked.status_code == 201, booked.text
        session = booked.json()
        seat, leader_id = participant(session, "petitioner")["id"], participant(session, "leader")["id"]
        issued = office.post(f"/api/v1/sessions/{session['id']}/home-links", json={"participant_id": seat})
        assert issued.status_code == 201, issued.text
        link_sms = wait(lambda: [m for m in deliver() if "/home/" in m.text])
        result["link_sms"] = link_sms[0].text
        assert link_sms[0].destination == "8613912345678"
        link = re.search(r"(http://\S+/home/[A-Za-z0-9_\-]+)", link_sms[0].text).group(1)

        _, phone = phone_page(browser, "blue", out)
        phone.goto(link)
        phone.screenshot(path=str(out / "home-join-code.png"), full_page=True)
        phone.tap("#home-send button[type=submit]")
        phone.wait_for_selector("#home-sent")
        code_sms = wait(lambda: [m for m in deliver() if "验证码" in m.text])
        result["code_sms"] = code_sms[0].text
        code = re.search(r"验证码为(\d{6})", code_sms[0].text).group(1)
        phone.fill("#home-verify input[name=code]", code)
        phone.tap("#home-verify input[name=agree]")
        verifying = time.monotonic()
        phone.tap("#home-verify button[type=submit]")
        phone.wait_for_url(f"{base}/calls/{session['id']}")
        result["phone_in_lobby"] = bool(wait(lambda: "请稍候" in phone.inner_text("#status")))
        result["code_to_lobby_s"] = round(time.monotonic() - verifying, 2)
        result["phone"] = phone.evaluate(PHONE_FACTS)
        phone.screenshot(path=str(out / "home-join-lobby.png"))

        _, leader = open_page(browser, base, "leader.county", session["id"], "red", "leader", out)
        result["lobby_shown"] = bool(wait(lambda: leader.locator(f"button.admit[data-participant='{seat}']").count()))
        admitted = time.monotonic()
        leader.click(f"button.admit[data-participant='{seat}']")
        result["leader_sees_phone"] = bool(sees(leader, seat, "blue"))
        result["phone_sees_leader"] = bool(sees(phone, leader_id, "red"))
        result["admit_to_both_videos_s"] = round(time.monotonic() - admitted, 2)
        result["leader_list_label"] = wait(lambda: leader.evaluate(
            f"""() => {{ const b = document.querySelector("#participants li[data-participant='{seat}'] .home-join");
                         return b ? b.textContent : null; }}"""))
        result["phone_audio_packets"] = wait(lambda: phone.evaluate(INBOUND)["audio"] > 50
                                             and phone.evaluate(INBOUND)["audio"])
        result["leader_audio_packets"] = wait(lambda: leader.evaluate(INBOUND)["audio"] > 50
                                              and leader.evaluate(INBOUND)["audio"])
        result["state_live"] = bool(wait(lambda: leader.get_attribute("#call-state", "data-state") == "live"))
        shown = [(page, page.evaluate(INBOUND)["framesDecoded"]) for page in (leader, phone)]
        wait(lambda: all(page.evaluate(INBOUND)["framesDecoded"] >= before + 20 for page, before in shown), timeout=5)
        phone.screenshot(path=str(out / "home-join-call-phone.png"))
        leader.screenshot(path=str(out / "home-join-call-leader.png"))

        # The same link in another browser (forwarded, or replayed after use) is refused with a page in Chinese.
        _, other = phone_page(browser, "green", out)
        answer = other.goto(link)
        result["replay_status"] = answer.status if answer else None
        result["replay_text"] = other.inner_text("#home-refused")
        other.screenshot(path=str(out / "home-join-replayed.png"))
        end_call(leader)
        wait(lambda: world.session_state(session["id"]) == "ended")
        result["recording"] = wait(lambda: world.recording_streams(session["id"]), timeout=30)
        with world.db.transaction() as tx:
            result["audited"] = [e.action for e in tx.scalars(select(AuditEvent).where(
                AuditEvent.action.like("home_join.%")).order_by(AuditEvent.seq))]
    finally:
        smsc.stop()
    return result


def main(out: Path) -> int:
    from tests.calls.netns_scenarios import run

    return run("home_join", scenario, out)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
