// The call page: wires the call module to the page (videos, lobby, participants, controls).
import { Call, screenOwner } from "/static/js/call.js";
import { localMedia } from "/static/js/devices.js";

const config = JSON.parse(document.getElementById("call-config").textContent);
const messages = JSON.parse(document.getElementById("call-messages").textContent);
const csrf = document.querySelector("meta[name=csrf-token]").content;
const $ = (id) => document.getElementById(id);
const t = (key) => messages[key] || key;

function status(text) { $("status").textContent = text; }
const can = (capability) => config.capabilities.includes(capability);
const roster = new Map(config.roster.map((seat) => [seat.id, seat]));
const roleName = (role) => t(`pages.participant.${role}`);
// People booked by name sit in a room: the room's card and tile carry their names.
const seatedIn = (roomId) => config.roster.filter((seat) => seat.room === roomId);

function captionOf(publisher) {
  const name = config.names[publisher] || publisher;
  const seated = seatedIn(Number(publisher)).map((seat) => seat.name);
  return seated.length ? `${name} · ${seated.join("、")}` : name;
}

async function joinUrl() {
  const response = await fetch(`/calls/${config.sessionId}/token`, { method: "POST", headers: { "X-CSRF-Token": csrf } });
  if (!response.ok) throw new Error(`token ${response.status}`);
  return response.json();  // {ws_url, ice_servers, …}: call.js takes the TURN credentials from it
}

// A shared screen gets a large tile of its own, first, labelled with who shares it (call-screen.js: the button).
function tile(publisher) {
  let figure = document.querySelector(`figure[data-publisher="${publisher}"]`);
  if (!figure) {
    const sharer = screenOwner(publisher);
    figure = document.createElement("figure");
    figure.className = sharer ? "tile remote screen" : "tile remote";
    figure.dataset.publisher = publisher;
    const video = document.createElement("video");
    video.autoplay = true; video.playsInline = true;
    const caption = document.createElement("figcaption");
    caption.textContent = sharer ? $("videos").dataset.screenSharedBy.replace("{name}", config.names[sharer] || sharer)
      : captionOf(publisher);
    figure.append(video, caption);
    if (sharer) {
      figure.dataset.screenOf = sharer;
      $("videos").prepend(figure);
    } else $("videos").append(figure);
  }
  return figure;
}

// A hearing: the current step highlighted, who holds the floor, the private deliberation.
let hearingState = { step: null, deliberating: false };
function renderHearing(message) {
  if (!config.hearing) return;
  hearingState = { step: message.agenda_step, deliberating: message.deliberating, floor: message.floor };
  const label = (step) => (config.agenda.find((a) => a.step === step) || { label: step }).label;
  $("agenda-step").textContent = message.agenda_step
    ? t("call.agenda.current").replace("{step}", label(message.agenda_step)) : t("call.agenda.none");
  document.querySelectorAll("#agenda-steps li").forEach((li) => {
    li.classList.toggle("current", li.dataset.step === message.agenda_step);
    if (li.dataset.step === message.agenda_step) li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
  });
  const holder = message.participants.find((p) => p.id === message.floor);
  $("floor-holder").textContent = holder ? t("call.floor.holder").replace("{name}", holder.name || holder.id) : t("call.floor.nobody");
  $("floor-holder").dataset.participant = message.floor || "";
  $("deliberating").hidden = !message.deliberating;
  if ($("deliberation-start")) { $("deliberation-start").hidden = message.deliberating; $("deliberation-end").hidden = !message.deliberating; }
}
if (config.hearing && config.moderator) {
  document.querySelectorAll("button.agenda-step").forEach((button) => { button.onclick = () => call.agenda(button.dataset.step); });
  $("agenda-next").onclick = () => {
    const steps = config.agenda.map((a) => a.step);
    const next = steps[Math.min(steps.indexOf(hearingState.step) + 1, steps.length - 1)];
    if (config.chairDesk && config.chairDesk.short && next !== "opening") return;
    call.agenda(next);
  };
  $("floor-take").onclick = () => call.takeFloor();
  if ($("deliberation-start")) {
    $("deliberation-start").onclick = () => call.deliberate(true);
    $("deliberation-end").onclick = () => call.deliberate(false);
  }
}

// The chair's desk of a hearing: 回避 said aloud at the opening and its decision, the panel's opinions. While a
// granted 回避 leaves the panel short, the agenda stays at the opening (the server refuses too).
const desk = config.chairDesk;
function showShort(short) {
  if (!desk) return;
  desk.short = short;
  $("panel-short").hidden = !short;
  $("panel-short-why").textContent = short || "";
  const past = document.querySelectorAll("button.agenda-step:not([data-step=opening])");
  for (const button of [...past, $("agenda-next")]) if (button) button.disabled = Boolean(short);
}
async function deskFetch(url, body) {
  const options = body === undefined ? {} : { method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } };
  const response = await fetch(url, options);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.detail || response.statusText);
  return answer;
}
function recusalItem(r) {
  const item = document.createElement("li");
  const what = document.createElement("span");
  what.textContent = t("call.hearing.requested_by_label").replace("{who}", r.requested_by)
    .replace("{against}", r.against.name).replace("{reason}", r.reason);
  const verdict = document.createElement("span");
  verdict.className = "badge";
  verdict.textContent = r.granted === null ? t("call.hearing.pending")
    : `${t(r.granted ? "call.hearing.granted" : "call.hearing.refused")}：${r.decision_reason}`;
  item.append(what, " ", verdict);
  if (r.decides) {
    const reason = document.createElement("input");
    reason.maxLength = 4000; reason.placeholder = t("call.hearing.decision_reason");
    reason.setAttribute("aria-label", t("call.hearing.decision_reason"));
    const decide = (granted) => async () => {
      try { renderRecusals(await deskFetch(`/hearings/${desk.hearingId}/call/recusals/${r.id}/decision`, { granted, reason: reason.value })); }
      catch (error) { $("recusal-result").dataset.ok = "no"; $("recusal-result").textContent = error.message; }
    };
    const grant = document.createElement("button"); grant.type = "button"; grant.className = "small";
    grant.textContent = t("call.hearing.grant"); grant.onclick = decide(true);
    const refuse = document.createElement("button"); refuse.type = "button"; refuse.className = "small";
    refuse.textContent = t("call.hearing.refuse"); refuse.onclick = decide(false);
    item.append(" ", reason, grant, refuse);
  } else if (r.granted === null) item.append(" ", t("call.hearing.office_decides"));
  return item;
}
function renderRecusals(state) {
  showShort(state.short);
  if (!$("recusal-list")) return;
  if (state.recusals.length === 0) {
    const empty = document.createElement("li"); empty.className = "muted"; empty.textContent = t("call.hearing.recusals_none");
    $("recusal-list").replaceChildren(empty);
  } else $("recusal-list").replaceChildren(...state.recusals.map(recusalItem));
  $("recusal-against").replaceChildren(...state.challenged.map((p) => {
    const option = document.createElement("option"); option.value = p.id; option.textContent = `${p.name}（${p.as}）`;
    return option;
  }));
  $("recusal-form").hidden = !state.open;
}
async function loadOpinions() {
  const { opinions } = await deskFetch(`/hearings/${desk.hearingId}/call/opinions`);
  const items = opinions.map((o) => {
    const item = document.createElement("li");
    const name = document.createElement("strong"); name.textContent = o.name;
    const text = document.createElement("p"); text.textContent = o.at ? o.opinion : t("call.hearing.opinion_none");
    if (!o.at) text.className = "muted";
    item.append(name, text);
    return item;
  });
  if (items.length === 0) {
    const empty = document.createElement("li"); empty.className = "muted"; empty.textContent = t("call.hearing.opinions_none");
    items.push(empty);
  }
  $("opinion-list").replaceChildren(...items);
}
if (desk) {
  showShort(desk.short);
  if (desk.recusals) {
    deskFetch(`/hearings/${desk.hearingId}/call/recusals`).then(renderRecusals).catch(() => {});
    $("recusal-form").onsubmit = async (event) => {
      event.preventDefault();
      const form = new FormData(event.target);
      try {
        renderRecusals(await deskFetch(`/hearings/${desk.hearingId}/call/recusals`, { against_id: Number(form.get("against_id")),
          requested_by: form.get("requested_by"), reason: form.get("reason") }));
        event.target.reset();
        $("recusal-result").textContent = "";
      } catch (error) { $("recusal-result").dataset.ok = "no"; $("recusal-result").textContent = error.message; }
    };
  }
  loadOpinions().catch(() => {});
  $("opinions-refresh").onclick = () => loadOpinions().catch((error) => status(error.message));
}
function renderState(message) {
  renderHearing(message);
  const state = message.session.state;
  $("call-state").dataset.state = state;
  $("call-state").textContent = t(`call.state.${state}`);
  $("recording").hidden = state !== "live";
  const inRoom = new Map();
  const shown = [];
  for (const p of message.participants) {
    const seat = roster.get(p.id);
    // A name-only seat nobody connected to itself is one of the people in front of the room's camera.
    if (seat && seat.room && !p.connected && roster.has(seat.room)) {
      if (!inRoom.has(seat.room)) inRoom.set(seat.room, []);
      inRoom.get(seat.room).push(p);
    } else shown.push(p);
  }
  $("participants").replaceChildren(...shown.map((p) => participantItem(p, inRoom.get(p.id) || [])));
  for (const p of message.participants) {
    const figure = document.querySelector(`figure[data-publisher="${p.id}"]`);
    if (figure) figure.dataset.video = p.video ? "on" : "off";
  }
  const lobby = $("lobby");
  if (!lobby) return;
  if (!message.lobby || message.lobby.length === 0) {
    const empty = document.createElement("li"); empty.className = "muted"; empty.textContent = t("call.lobby_empty");
    lobby.replaceChildren(empty);
    return;
  }
  lobby.replaceChildren(...message.lobby.map((entry) => {
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = captionOf(entry.participant_id);
    const admit = document.createElement("button");
    admit.type = "button"; admit.className = "admit"; admit.dataset.participant = entry.participant_id;
    admit.textContent = t("call.admit");
    admit.onclick = () => call.admit(entry.participant_id);
    item.append(name, admit);
    return item;
  }));
}

function participantItem(p, seated) {
  const item = document.createElement("li");
  item.dataset.participant = p.id;
  item.dataset.role = p.role;
  item.dataset.status = p.status;
  const flags = [p.connected ? "" : "⚪", p.audio ? "" : t("call.muted"), p.video ? "" : t("call.camera_off")]
    .filter(Boolean);
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = p.name || p.id;
  const role = document.createElement("span");
  role.className = "role";
  role.textContent = roleName(p.role);
  item.append(who, " ", role);
  const home = roster.get(p.id) && roster.get(p.id).home;  // 在家接入 · 已短信验证
  if (home) { const badge = document.createElement("span"); badge.className = "badge home-join"; badge.textContent = home; item.append(" ", badge); }
  if (flags.length) item.append(` · ${flags.join(" · ")}`);
  if (config.moderator && p.id !== config.participantId && p.connected && p.audio && p.status === "admitted"
      && p.role !== "observer") {  // an observer never publishes: nothing to mute
    const mute = document.createElement("button");
    mute.type = "button"; mute.className = "mute small"; mute.dataset.participant = p.id;
    mute.textContent = t("call.mute_other");
    mute.onclick = () => call.mute(p.id);
    item.append(" ", mute);
  }
  if (config.hearing && config.moderator && p.id !== config.participantId && p.connected && p.status === "admitted"
      && p.role !== "observer" && p.id !== hearingState.floor) {
    const floor = document.createElement("button");
    floor.type = "button"; floor.className = "floor small"; floor.dataset.participant = p.id;
    floor.textContent = t("call.floor.give");
    floor.onclick = () => call.giveFloor(p.id);
    item.append(" ", floor);
  }
  if (seated.length) {
    const list = document.createElement("ul");
    list.className = "seated";
    list.setAttribute("aria-label", t("call.in_room"));
    list.replaceChildren(...seated.map((s) => {
      const person = document.createElement("li");
      person.dataset.participant = s.id;
      person.dataset.role = s.role;
      person.textContent = `${s.name}（${roleName(s.role)}）`;
      return person;
    }));
    item.append(list);
  }
  return item;
}

let stream;
if (can("publish")) {
  try {
    stream = await localMedia(config.facingMode);
  } catch (error) {
    status(t("call.device_error"));
    throw error;
  }
} else {
  stream = new MediaStream();  // watch only: no camera or microphone is opened
  document.querySelector("figure.tile.local").hidden = true;
}
$("local-video").srcObject = stream;
const call = new Call({ joinUrl, localStream: stream, iceServers: config.iceServers });
window.vreceptionCall = call;  // for the browser tests and for support staff in the console
window.vreceptionStream = stream;

call.addEventListener("lobby", (e) => status(t(e.detail.reason === "deliberation" ? "call.deliberation.waiting" : "call.waiting")));
call.addEventListener("admitted", () => status(t("call.admitted")));
let lastState = null;
call.addEventListener("state", (e) => { lastState = e.detail; renderState(e.detail); homeSeats(e.detail); });
// A seat that connects from home after this page loaded: ask again what its list entry says.
const askedHome = new Set();
async function homeSeats(message) {
  const fresh = message.participants.filter((p) => p.connected && !askedHome.has(p.id) && roster.has(p.id) && !roster.get(p.id).home);
  if (!config.homeSeatsUrl || fresh.length === 0) return;
  fresh.forEach((p) => askedHome.add(p.id));
  const response = await fetch(config.homeSeatsUrl);
  if (!response.ok) return;
  const labels = await response.json();
  for (const [id, label] of Object.entries(labels)) {
    const seat = roster.get(Number(id));
    if (seat) { seat.home = label; seat.room = null; }
  }
  renderState(lastState || message);
}
call.addEventListener("error", (event) => {
  if (event.detail.code === "panel_incomplete") status(`${t("call.agenda.panel_incomplete")} ${event.detail.detail}`);
});
call.addEventListener("track", (e) => { const video = tile(e.detail.publisher).querySelector("video"); if (video.srcObject !== e.detail.stream) video.srcObject = e.detail.stream; });
call.addEventListener("remove", (e) => { const f = document.querySelector(`figure[data-publisher="${e.detail.publisher}"]`); if (f) f.remove(); });
call.addEventListener("quality", (e) => { $("quality").dataset.level = e.detail.level; $("quality").textContent = t(`call.quality.${e.detail.level}`); });
const byeText = (reason) => t(`call.${["left", "refused", "replaced"].includes(reason) ? reason : "ended"}`);
// Closed for good without a `bye` (the session ended while this page was away): the same end as with one.
const CLOSED_FOR_GOOD = { 4410: "ended", 4403: "refused" };
let finished = false;
call.addEventListener("connection", (e) => {
  if (e.detail.state !== "signaling-closed") return;
  const reason = CLOSED_FOR_GOOD[e.detail.code];
  if (reason && !finished) { status(byeText(reason)); finish(reason); }
  else if (!call.finished) status(t("call.reconnecting"));
});
call.addEventListener("bye", (e) => { status(byeText(e.detail.reason)); finish(e.detail.reason); });

// The call is over: let go of camera and microphone at once, then offer what comes next.
function finish(reason) {
  if (finished) return;
  finished = true;
  call.releaseDevices();
  $("local-video").srcObject = null;
  document.querySelectorAll("#videos figure.remote").forEach((figure) => figure.remove());
  const parts = [$("controls"), document.querySelector(".call-body"), $("quality"), $("recording")];
  for (const part of parts) part.hidden = true;
  $("after").hidden = false;
  if (reason !== "ended") $("after-title").textContent = byeText(reason);
  const countdown = $("after-countdown");
  if (!countdown) return;
  let left = Number(countdown.dataset.seconds);
  const tick = () => {
    countdown.textContent = t("call.after.returning").replace("{seconds}", left);
    if (left <= 0) location.assign(countdown.dataset.href);
    else { left -= 1; setTimeout(tick, 1000); }
  };
  tick();
}

let micOn = true; let camOn = true;
function showMic() {
  $("btn-mic").textContent = t(micOn ? "call.mic_on" : "call.mic_off");
  $("btn-mic").setAttribute("aria-pressed", micOn);
}
if ($("btn-mic")) $("btn-mic").onclick = () => { micOn = !micOn; call.setAudio(micOn); showMic(); };
if ($("btn-cam")) {
  $("btn-cam").onclick = () => {
    camOn = !camOn;
    call.setVideo(camOn);
    $("btn-cam").textContent = t(camOn ? "call.cam_on" : "call.cam_off");
    $("btn-cam").setAttribute("aria-pressed", camOn);
  };
}
call.addEventListener("floor", () => {
  micOn = true;
  if ($("btn-mic")) showMic();
  status(t("call.floor.yours"));
});
call.addEventListener("muted", () => {
  micOn = false;
  if ($("btn-mic")) showMic();
  status(t("call.muted_by_moderator"));
});
$("btn-leave").onclick = () => call.leave();
// The township room's screen: the call fills it (large tiles and controls, see .kiosk in app.css).
$("btn-full").onclick = () => (document.fullscreenElement ? document.exitFullscreen() : $("call").requestFullscreen());
if ($("btn-end")) {
  const asking = (shown) => {
    $("end-confirm").hidden = !shown;
    $("btn-end").setAttribute("aria-expanded", String(shown));
    (shown ? $("btn-end-cancel") : $("btn-end")).focus();
  };
  $("btn-end").onclick = () => asking(true);
  $("btn-end-cancel").onclick = () => asking(false);
  $("btn-end-confirm").onclick = () => { $("end-confirm").hidden = true; call.end(); };
}
// The leader's desk: notes become the reception record, tasks are assigned without leaving the call.
async function submitDesk(form, resultId, describe) {
  const response = await fetch(form.action, { method: "POST", body: new FormData(form), headers: { "X-CSRF-Token": csrf } });
  const body = await response.json();
  const result = $(resultId);
  result.dataset.ok = response.ok ? "yes" : "no";
  result.textContent = response.ok ? describe(body) : body.detail;
  return response.ok ? body : null;
}
if ($("record-form")) {
  $("record-form").onsubmit = async (event) => {
    event.preventDefault();
    const saved = await submitDesk(event.target, "record-result", (b) => `${t("call.record_saved")} ${b.number}`);
    if (saved) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = saved.url; link.target = "_blank"; link.rel = "noopener"; link.textContent = saved.number;
      item.append(link);
      $("desk-documents").querySelectorAll("li.muted").forEach((placeholder) => placeholder.remove());
      $("desk-documents").append(item);
    }
  };
  $("task-form").onsubmit = async (event) => {
    event.preventDefault();
    if (await submitDesk(event.target, "task-result", (b) => `${t("call.task_assigned")} ${b.title}`)) event.target.reset();
  };
}

await call.start();
