// Screen or window share (共享屏幕): an extra video track of the sharer, forwarded and recorded like the camera
// (`screen`: signaling/README.md). Who may share is who may show evidence; the room only while a moderator allows
// it. One share at a time; a moderator may stop anyone's. The browser's own "stop sharing" ends it too (call.js).

const config = JSON.parse(document.getElementById("call-config").textContent);
const $ = (id) => document.getElementById(id);
const videos = $("videos");
const button = $("btn-screen");

let call = window.vreceptionCall;
while (!call) {  // call-page.js sets it once the camera is open
  await new Promise((resolve) => setTimeout(resolve, 50));
  call = window.vreceptionCall;
}
let state = call.lastState || null;

function status(text) { $("status").textContent = text; }

function mayShare() {
  return config.capabilities.includes("show") || (config.role === "room" && Boolean(state && state.room_may_show));
}

// What this page shares, small, beside its camera.
function renderPreview() {
  let figure = $("local-screen");
  if (!call.screen) { if (figure) figure.remove(); return; }
  if (!figure) {
    figure = document.createElement("figure");
    figure.className = "tile local screen-preview";
    figure.id = "local-screen";
    const video = document.createElement("video");
    video.autoplay = true; video.playsInline = true; video.muted = true;
    const caption = document.createElement("figcaption");
    caption.textContent = videos.dataset.screenYours;
    figure.append(video, caption);
    videos.append(figure);
  }
  const video = figure.querySelector("video");
  if (!video.srcObject || video.srcObject.getVideoTracks()[0] !== call.screen.track) video.srcObject = new MediaStream([call.screen.track]);
}

// A moderator stops someone else's share from its tile.
function renderStopButtons() {
  if (!config.moderator) return;
  for (const figure of videos.querySelectorAll("figure.tile.screen[data-screen-of]")) {
    if (figure.querySelector("button.screen-stop")) continue;
    const stop = document.createElement("button");
    stop.type = "button"; stop.className = "screen-stop small";
    stop.textContent = videos.dataset.screenStopOther;
    stop.onclick = () => call.send({ type: "screen", active: false });
    figure.append(stop);
  }
}

function render() {
  renderPreview();
  renderStopButtons();
  if (!button) return;
  const mine = Boolean(call.screen);
  const sharer = state && state.screen ? state.screen.participant_id : null;
  const supported = Boolean(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  button.hidden = !supported || !(mine || mayShare());
  // The server offers the screen a slot over the peer connection: share once it is up, and one share at a time.
  const connected = Boolean(call.pc && call.pc.connectionState === "connected");
  button.disabled = !mine && (!connected || (sharer !== null && sharer !== config.participantId));
  button.textContent = mine ? button.dataset.stop : button.dataset.share;
  button.setAttribute("aria-pressed", String(mine));
}

if (button) {
  button.addEventListener("click", async () => {
    if (call.screen) { call.stopScreen(); return; }
    try {
      await call.shareScreen();  // getDisplayMedia: the browser asks which screen or window
    } catch (error) {
      // Declined in the browser's picker, or no screen capture here: nothing was shared.
      status(button.dataset.failed.replace("{reason}", error.name || String(error)));
    }
  });
}
call.addEventListener("state", (event) => { state = event.detail; render(); });
call.addEventListener("screen", render);
call.addEventListener("track", render);
call.addEventListener("connection", render);
call.addEventListener("error", (event) => {
  const detail = event.detail.detail || "";
  if (detail.startsWith("screen share:") && button) status(button.dataset.failed.replace("{reason}", detail));
});
render();
