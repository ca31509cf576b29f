// The public gallery (旁听): watch only, roles instead of names, the evidence shown now; no sign-in.
import { Call, screenOwner } from "/static/js/call.js";

const config = JSON.parse(document.getElementById("gallery-config").textContent);
const messages = JSON.parse(document.getElementById("gallery-messages").textContent);
const csrf = document.querySelector("meta[name=csrf-token]").content;
const $ = (id) => document.getElementById(id);
const t = (key, params = {}) => Object.entries(params).reduce((text, [k, v]) => text.replace(`{${k}}`, v), messages[key] || key);
const status = (text) => { $("status").textContent = text; };
const SEAT = `vreception-gallery-seat:${config.key}`;
const RETRY_MS = 5000;

// A seat, its join token and its TURN credentials (call.js takes them from the answer); the seat token is kept so
// that a reload takes the same seat.
async function joinUrl() {
  for (;;) {
    const response = await fetch(`/gallery/${encodeURIComponent(config.key)}/token`, {
      method: "POST", headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ seat: sessionStorage.getItem(SEAT) || "" }),
    });
    if (response.ok) {
      const body = await response.json();
      sessionStorage.setItem(SEAT, body.seat);
      return body;  // {ws_url, ice_servers, …}
    }
    if (response.status !== 429) { status(t("call.gallery.ended")); throw new Error(`token ${response.status}`); }
    status(t("call.gallery.full"));
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

function tile(publisher) {
  let figure = document.querySelector(`figure[data-publisher="${publisher}"]`);
  if (!figure) {
    // A shared screen ("<id>-screen") gets a large tile of its own, first, captioned with the sharer's role.
    const sharer = screenOwner(publisher);
    figure = document.createElement("figure");
    figure.className = sharer ? "tile remote screen" : "tile remote";
    figure.dataset.publisher = publisher;
    const video = document.createElement("video");
    video.autoplay = true; video.playsInline = true;
    const caption = document.createElement("figcaption");
    // A tile made after the last state (a reconnect after deliberation) takes its caption from that state.
    const known = lastState && lastState.participants.find((p) => String(p.id) === String(sharer || publisher));
    caption.textContent = known ? known.name : "";
    figure.append(video, caption);
    if (sharer) $("videos").prepend(figure); else $("videos").append(figure);
  }
  return figure;
}

let shown = "";
let lastState = null;
function renderState(message) {
  lastState = message;
  const names = new Map(message.participants.map((p) => [p.id, p.name]));
  $("agenda-step").textContent = message.agenda_step
    ? t("call.agenda.current", { step: t(`call.agenda.${message.agenda_step}`) }) : t("call.agenda.none");
  $("floor-holder").textContent = message.floor
    ? t("call.floor.holder", { name: names.get(message.floor) || "" }) : t("call.floor.nobody");
  const speakers = message.participants.filter((p) => p.status === "admitted" && p.role !== "observer");
  $("participants").replaceChildren(...speakers.map((p) => {
    const item = document.createElement("li");
    item.dataset.participant = p.id; item.dataset.role = p.role;
    item.textContent = p.name;
    return item;
  }));
  for (const p of message.participants) {
    const figure = document.querySelector(`figure[data-publisher="${p.id}"]`);
    if (figure) figure.querySelector("figcaption").textContent = p.name;
  }
  const showing = message.showing;
  const wanted = showing ? `${showing.item}#${showing.page}` : "";
  if (wanted === shown) return;
  shown = wanted;
  $("evidence").hidden = !showing;
  if (showing) {
    const query = new URLSearchParams({ item: showing.item, page: String(showing.page) });
    $("evidence-page").src = `/gallery/${encodeURIComponent(config.key)}/evidence?${query}`;
    $("evidence-caption").textContent = `${showing.page} / ${showing.pages}`;
  }
}

const call = new Call({ joinUrl, localStream: new MediaStream(), iceServers: config.iceServers });
window.vreceptionCall = call;  // for the browser tests
call.addEventListener("lobby", (e) => status(t(e.detail.reason === "deliberation" ? "call.gallery.deliberating" : "call.gallery.waiting")));
call.addEventListener("admitted", () => status(t("call.gallery.watching")));
call.addEventListener("state", (e) => renderState(e.detail));
call.addEventListener("track", (e) => { const video = tile(e.detail.publisher).querySelector("video"); if (video.srcObject !== e.detail.stream) video.srcObject = e.detail.stream; });
call.addEventListener("remove", (e) => { const f = document.querySelector(`figure[data-publisher="${e.detail.publisher}"]`); if (f) f.remove(); });
call.addEventListener("bye", () => { status(t("call.gallery.ended")); sessionStorage.removeItem(SEAT); });
call.addEventListener("connection", (e) => { if (e.detail.state === "signaling-closed" && !call.finished) status(t("call.reconnecting")); });
await call.start();
