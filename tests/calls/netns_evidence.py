"""Evidence shown in a call, in real Chromium inside a private network namespace (`unshare -n`).

Usage: python -m tests.calls.netns_evidence OUT_DIR
The leader uploads a two-page PDF during the call (page 1 red, page 2 blue) and shows it; the room's screen shows
page 1, then page 2 after the leader turns the page (DOM and pixels); after the end, the recording's manifest lists
both page events with their offsets.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.calls.netns_scenarios import World, end_call, frames_grow, near, open_page, participant, run, sees, wait

IMAGE_PIXEL = """() => {
  const image = document.getElementById("evidence-page");
  if (!image || !image.complete || !image.naturalWidth || image.dataset.loaded !== "yes") return null;
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(image, 0, 0);
  return Array.from(ctx.getImageData(canvas.width / 2, canvas.height / 2, 1, 1).data.slice(0, 3));
}"""


def pdf_of_colours(*colours: tuple[float, float, float]) -> bytes:
    """A PDF with one page per colour, each filled with it (written by hand: no generator needed)."""
    count = len(colours)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + b" ".join(f"{3 + i} 0 R".encode() for i in range(count))
               + f"] /Count {count} >>".encode()]
    for i in range(count):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 400] /Contents {3 + count + i} 0 R >>"
                       .encode())
    for r, g, b in colours:
        stream = f"{r} {g} {b} rg 0 0 300 400 re f".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def room_sees_page(room, page: int, colour: str, timeout: float = 20.0):
    """The room's screen shows PAGE of the evidence, drawn in COLOUR (DOM and a pixel of the image)."""
    return wait(lambda: room.get_attribute("#evidence-page", "data-page") == str(page)
                and near(room.evaluate(IMAGE_PIXEL), colour), timeout)


def evidence(world: World, base: str, browser, out: Path) -> dict:
    session = world.book(base)
    room_id, leader_id = participant(session, "room")["id"], participant(session, "leader")["id"]
    result: dict = {"session_id": session["id"], "leader_id": leader_id}
    _, room = open_page(browser, base, "room.township", session["id"], "blue", "room", out)
    _, leader = open_page(browser, base, "leader.county", session["id"], "red", "leader", out)
    wait(lambda: leader.locator(f"button.admit[data-participant='{room_id}']").count())
    leader.click(f"button.admit[data-participant='{room_id}']")
    result["live"] = bool(sees(leader, room_id, "blue")) and bool(sees(room, leader_id, "red"))
    # Some recording before the showing, so its offset is above 0: frames keep flowing through the server.
    result["recording_ran"] = bool(frames_grow(room, 15))

    pdf = pdf_of_colours((1, 0, 0), (0, 0, 1))
    leader.wait_for_selector("#evidence-upload input[type=file]", state="attached")
    wait(lambda: leader.is_visible("#evidence-upload"))
    leader.set_input_files("#evidence-upload input[type=file]",
                           files=[{"name": "现场材料.pdf", "mimeType": "application/pdf", "buffer": pdf}])
    leader.click("#evidence-upload button[type=submit]")
    result["room_page_1"] = bool(room_sees_page(room, 1, "red"))
    result["room_caption_1"] = room.inner_text("#evidence-caption")
    room.screenshot(path=str(out / "evidence-room-page-1.png"))
    # Page 1's showing is stored before the page turns, so page 2's offset comes after it.
    result["page_1_stored"] = bool(wait(lambda: world.shown_pages(session["id"]) == [1]))
    leader.click("#evidence-next")
    result["room_page_2"] = bool(room_sees_page(room, 2, "blue"))
    result["room_caption_2"] = room.inner_text("#evidence-caption")
    result["leader_page_2"] = bool(wait(lambda: leader.get_attribute("#evidence-page", "data-page") == "2"))
    room.screenshot(path=str(out / "evidence-room-page-2.png"))
    leader.screenshot(path=str(out / "evidence-leader.png"), full_page=True)
    result["room_has_no_controls"] = not room.is_visible("#evidence-next") and not room.is_visible("#evidence-upload")
    # Page 2's showing is stored before the call ends, so the manifest lists it.
    result["page_2_stored"] = bool(wait(lambda: world.shown_pages(session["id"]) == [1, 2]))
    end_call(leader)
    result["state_ended"] = bool(wait(lambda: world.session_state(session["id"]) == "ended"))
    result["manifest"] = wait(lambda: world.manifest(session["id"]), timeout=30)
    return result


def main(out: Path) -> int:
    return run("evidence", evidence, out)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
