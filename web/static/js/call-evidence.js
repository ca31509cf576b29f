// Evidence shown in the call (证据展示): everyone sees the page the one showing chose; page turns go through
// signaling (`show`, `show_end`, `allow_show`: signaling/README.md). Pages are images the server renders, so
// every screen shows the same pixels and no browser parses the file itself.

const config = JSON.parse(document.getElementById("call-config").textContent);
const csrf = document.querySelector("meta[name=csrf-token]").content;
const $ = (id) => document.getElementById(id);
const panel = $("evidence");
const text = (key) => panel.dataset[key] || "";
const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));

let call = window.vreceptionCall;
while (!call) {  // call-page.js sets it once the camera is open
  await new Promise((resolve) => setTimeout(resolve, 50));
  call = window.vreceptionCall;
}
window.vreceptionEvidence = { shown: [] };  // what this page showed, in order: for the browser tests
let showing = null;
let roomMayShow = false;
let picker = { may_show: false, may_upload: false, items: [] };

function say(message, ok) {
  const out = $("evidence-result");
  out.textContent = message;
  out.dataset.ok = ok ? "yes" : "no";
}

function pageUrl(item, page) {
  return `/calls/${config.sessionId}/evidence/page?item=${encodeURIComponent(item)}&page=${page}`;
}

function render() {
  const view = $("evidence-view");
  const image = $("evidence-page");
  if (!showing) {
    view.hidden = true;
    image.removeAttribute("src");
    delete image.dataset.item; delete image.dataset.page; delete image.dataset.url;
  } else {
    view.hidden = false;
    const url = pageUrl(showing.item, showing.page);
    if (image.dataset.url !== url) {
      image.dataset.loaded = "no";
      image.dataset.url = url;
      image.dataset.tries = "0";
      image.src = url;
    }
    image.dataset.item = showing.item;
    image.dataset.page = String(showing.page);
    const mine = showing.participant_id === config.participantId;
    $("evidence-caption").textContent = `${fill(text("shownBy"), { name: config.names[String(showing.participant_id)] || showing.participant_id })}`
      + ` · ${fill(text("page"), { page: showing.page, pages: showing.pages })}`;
    $("evidence-prev").hidden = !mine;
    $("evidence-next").hidden = !mine;
    $("evidence-prev").disabled = showing.page <= 1;
    $("evidence-next").disabled = showing.page >= showing.pages;
    $("evidence-end").hidden = !(mine || config.moderator);
  }
  const roomMay = config.role === "room" && roomMayShow;
  $("evidence-controls").hidden = !(picker.may_show || (picker.may_upload && roomMay));
  $("evidence-pick").hidden = !picker.may_show || picker.items.length === 0;
  const allow = $("evidence-allow-room");
  if (allow) allow.checked = roomMayShow;
  panel.hidden = view.hidden && $("evidence-controls").hidden && !allow;
}

function show(item, page, pages) {
  window.vreceptionEvidence.shown.push({ item, page });
  call.send({ type: "show", item, page, pages });
}

async function prepared(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { say(body.detail || `${text("failed")} (${response.status})`, false); return; }
  say(body.title || body.item, true);
  show(body.item, 1, body.pages);
}

async function loadPicker() {
  const response = await fetch(`/calls/${config.sessionId}/evidence`);
  if (!response.ok) return;
  picker = await response.json();
  const select = $("evidence-item");
  select.replaceChildren(...picker.items.map((entry) => {
    const option = document.createElement("option");
    option.value = entry.item; option.textContent = entry.title;
    return option;
  }));
  $("evidence-show").disabled = picker.items.length === 0;
  if (picker.items.length === 0 && picker.may_show) say(text("none"), true);
  render();
}

$("evidence-show").addEventListener("click", async () => {
  const body = new URLSearchParams({ item: $("evidence-item").value, csrf_token: csrf });
  await prepared(await fetch(`/calls/${config.sessionId}/evidence`, { method: "POST", body, headers: { "X-CSRF-Token": csrf } }));
});
$("evidence-upload").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  await prepared(await fetch(`/calls/${config.sessionId}/evidence/upload`, { method: "POST", body: form, headers: { "X-CSRF-Token": csrf } }));
});
$("evidence-prev").addEventListener("click", () => { if (showing) show(showing.item, showing.page - 1, showing.pages); });
$("evidence-next").addEventListener("click", () => { if (showing) show(showing.item, showing.page + 1, showing.pages); });
$("evidence-end").addEventListener("click", () => call.send({ type: "show_end" }));
const allow = $("evidence-allow-room");
if (allow) allow.addEventListener("change", () => call.send({ type: "allow_show", allowed: allow.checked }));
$("evidence-page").addEventListener("load", (event) => { event.target.dataset.loaded = "yes"; });
// A page that failed to load (a busy server, a dropped connection) is asked for again, a few times, so the
// room never keeps a broken image while everyone else sees the page.
$("evidence-page").addEventListener("error", (event) => {
  const image = event.target;
  const url = image.dataset.url;
  const tries = Number(image.dataset.tries || "0");
  if (!url || tries >= 6) return;
  image.dataset.tries = String(tries + 1);
  setTimeout(() => { if (image.dataset.url === url) image.src = `${url}&retry=${tries + 1}`; }, 400 * (tries + 1));
});

function onState(message) {
  showing = message.showing || null;
  roomMayShow = Boolean(message.room_may_show);
  render();
}
call.addEventListener("state", (event) => onState(event.detail));
call.addEventListener("error", (event) => { if ((event.detail.detail || "").includes("show")) say(event.detail.detail, false); });
if (call.lastState) onState(call.lastState);
await loadPicker();
