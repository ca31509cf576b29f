// The kiosk's signing page: each signer draws a signature on a canvas pad (pointer, mouse or touch),
// which is sent as a PNG; or refuses to sign with a reason (拒签).
const root = document.getElementById("record-sign");
const msg = (name) => root.dataset[`msg${name[0].toUpperCase()}${name.slice(1)}`] || "";

function pad(canvas) {
  const ctx = canvas.getContext("2d");
  const state = { drawing: false, drawn: false };
  const blank = () => {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    state.drawn = false;
  };
  blank();
  ctx.lineWidth = 4; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#111";
  const point = (x, y) => {
    const box = canvas.getBoundingClientRect();
    return [(x - box.left) * canvas.width / box.width, (y - box.top) * canvas.height / box.height];
  };
  const start = (x, y) => { state.drawing = true; ctx.beginPath(); ctx.moveTo(...point(x, y)); };
  const move = (x, y) => {
    if (!state.drawing) return;
    ctx.lineTo(...point(x, y)); ctx.stroke(); state.drawn = true;
  };
  const stop = () => { state.drawing = false; };
  if (window.PointerEvent) {
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      start(e.clientX, e.clientY);
      e.preventDefault();
    });
    canvas.addEventListener("pointermove", (e) => move(e.clientX, e.clientY));
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
  } else {
    canvas.addEventListener("mousedown", (e) => start(e.clientX, e.clientY));
    canvas.addEventListener("mousemove", (e) => move(e.clientX, e.clientY));
    window.addEventListener("mouseup", stop);
    const touch = (fn) => (e) => { const t = e.touches[0]; if (t) fn(t.clientX, t.clientY); e.preventDefault(); };
    canvas.addEventListener("touchstart", touch(start), { passive: false });
    canvas.addEventListener("touchmove", touch(move), { passive: false });
    canvas.addEventListener("touchend", stop);
  }
  return { clear: blank, drawn: () => state.drawn,
           png: () => new Promise((resolve) => canvas.toBlob(resolve, "image/png")) };
}

async function send(url, body) {
  const response = await fetch(url, { method: "POST", body, headers: { "X-CSRF-Token": root.dataset.csrf } });
  let answer = {};
  try { answer = await response.json(); } catch { answer = {}; }
  return { ok: response.ok, body: answer };
}

function update(record) {
  for (const signer of record.signers || []) {
    const card = root.querySelector(`.signer[data-participant="${signer.participant_id}"]`);
    if (!card || signer.state === "waiting") continue;
    card.dataset.state = signer.state;
    card.querySelector("[data-state-label]").textContent = msg(signer.state);
    card.querySelector("[data-pad-box]")?.remove();
  }
  const issued = record.state === "issued";
  document.getElementById("record-issued").hidden = !issued;
  if (issued) {
    document.getElementById("record-number").textContent = record.document_number;
    root.querySelectorAll("[data-pad-box]").forEach((box) => box.remove());
  }
  const waiting = (record.signers || []).every((s) => s.state !== "waiting");
  document.getElementById("record-waiting").hidden = issued || !waiting;
}

for (const card of root.querySelectorAll(".signer")) {
  const canvas = card.querySelector("canvas.pad");
  if (!canvas) continue;
  const signature = pad(canvas);
  const result = card.querySelector("[data-result]");
  const url = `/kiosk/sessions/${root.dataset.session}`;
  const say = (text, ok) => { result.textContent = text; result.dataset.ok = ok ? "yes" : "no"; };
  card.querySelector("[data-clear]").onclick = () => { signature.clear(); say("", true); };
  card.querySelector("[data-sign]").onclick = async (event) => {
    if (!signature.drawn()) { say(msg("empty"), false); return; }
    event.target.disabled = true;
    say(msg("saving"), true);
    const form = new FormData();
    form.append("participant_id", card.dataset.participant);
    form.append("signature", await signature.png(), "signature.png");
    const { ok, body } = await send(`${url}/sign`, form);
    event.target.disabled = false;
    if (!ok) { say(body.detail || msg("failed"), false); return; }
    say(msg("signed"), true);
    update(body);
  };
  card.querySelector("[data-refuse]").onclick = async (event) => {
    const reason = card.querySelector("[data-reason]").value.trim();
    if (!reason) { say(msg("reason"), false); return; }
    event.target.disabled = true;
    const form = new FormData();
    form.append("participant_id", card.dataset.participant);
    form.append("reason", reason);
    const { ok, body } = await send(`${url}/refuse`, form);
    event.target.disabled = false;
    if (!ok) { say(body.detail || msg("failed"), false); return; }
    say(msg("refused"), true);
    update(body);
  };
}
