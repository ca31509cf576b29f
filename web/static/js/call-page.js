// The call page: wires the call module to the page (videos, lobby, participants, controls).
import { Call } from "/static/js/call.js";
import { localMedia } from "/static/js/devices.js";

const config = JSON.parse(document.getElementById("call-config").textContent);
const messages = JSON.parse(document.getElementById("call-messages").textContent);
const csrf = document.querySelector("meta[name=csrf-token]").content;
const $ = (id) => document.getElementById(id);
const t = (key) => messages[key] || key;

function status(text) { $("status").textContent = text; }

async function joinUrl() {
  const response = await fetch(`/calls/${config.sessionId}/token`, { method: "POST", headers: { "X-CSRF-Token": csrf } });
  if (!response.ok) throw new Error(`token ${response.status}`);
  return (await response.json()).ws_url;
}

function tile(publisher) {
  let figure = document.querySelector(`figure[data-publisher="${publisher}"]`);
  if (!figure) {
    figure = document.createElement("figure");
    figure.className = "tile remote";
    figure.dataset.publisher = publisher;
    const video = document.createElement("video");
    video.autoplay = true; video.playsInline = true;
    const caption = document.createElement("figcaption");
    caption.textContent = config.names[publisher] || publisher;
    figure.append(video, caption);
    $("videos").append(figure);
  }
  return figure;
}

function renderState(message) {
  const state = message.session.state;
  $("call-state").dataset.state = state;
  $("call-state").textContent = t(`call.state.${state}`);
  $("recording").hidden = state !== "live";
  const list = $("participants");
  list.replaceChildren(...message.participants.map((p) => {
    const item = document.createElement("li");
    item.dataset.participant = p.id;
    item.dataset.status = p.status;
    const flags = [p.connected ? "" : "⚪", p.audio ? "" : t("call.muted"), p.video ? "" : t("call.camera_off")].filter(Boolean);
    item.textContent = `${p.name || p.id}${flags.length ? " · " + flags.join(" · ") : ""}`;
    const figure = document.querySelector(`figure[data-publisher="${p.id}"]`);
    if (figure) figure.dataset.video = p.video ? "on" : "off";
    return item;
  }));
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
    name.textContent = config.names[entry.participant_id] || entry.participant_id;
    const admit = document.createElement("button");
    admit.type = "button"; admit.className = "admit"; admit.dataset.participant = entry.participant_id;
    admit.textContent = t("call.admit");
    admit.onclick = () => call.admit(entry.participant_id);
    item.append(name, admit);
    return item;
  }));
}

let stream;
try {
  stream = await localMedia();
} catch (error) {
  status(t("call.device_error"));
  throw error;
}
$("local-video").srcObject = stream;
const call = new Call({ joinUrl, localStream: stream, iceServers: config.iceServers });
window.vreceptionCall = call;  // for the browser tests and for support staff in the console

call.addEventListener("lobby", () => status(t("call.waiting")));
call.addEventListener("admitted", () => status(t("call.admitted")));
call.addEventListener("state", (e) => renderState(e.detail));
call.addEventListener("track", (e) => { const video = tile(e.detail.publisher).querySelector("video"); if (video.srcObject !== e.detail.stream) video.srcObject = e.detail.stream; });
call.addEventListener("remove", (e) => { const f = document.querySelector(`figure[data-publisher="${e.detail.publisher}"]`); if (f) f.remove(); });
call.addEventListener("quality", (e) => { $("quality").dataset.level = e.detail.level; $("quality").textContent = t(`call.quality.${e.detail.level}`); });
call.addEventListener("connection", (e) => { if (e.detail.state === "signaling-closed" && !call.finished) status(t("call.reconnecting")); });
call.addEventListener("bye", (e) => status(t(`call.${e.detail.reason === "left" ? "left" : e.detail.reason === "refused" ? "refused" : e.detail.reason === "replaced" ? "replaced" : "ended"}`)));

let micOn = true; let camOn = true;
$("btn-mic").onclick = () => { micOn = !micOn; call.setAudio(micOn); $("btn-mic").textContent = t(micOn ? "call.mic_on" : "call.mic_off"); $("btn-mic").setAttribute("aria-pressed", micOn); };
$("btn-cam").onclick = () => { camOn = !camOn; call.setVideo(camOn); $("btn-cam").textContent = t(camOn ? "call.cam_on" : "call.cam_off"); $("btn-cam").setAttribute("aria-pressed", camOn); };
$("btn-leave").onclick = () => call.leave();
// The township room's screen: the call fills it (large tiles and controls, see .kiosk in app.css).
$("btn-full").onclick = () => (document.fullscreenElement ? document.exitFullscreen() : $("call").requestFullscreen());
if ($("btn-end")) $("btn-end").onclick = () => call.end();
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
