// The room kiosk's heartbeat: the server marks the room online (the video network overview), at load and every 30 s.
const EVERY_MS = 30000;
const csrf = document.querySelector("meta[name=csrf-token]").content;

async function beat() {
  try {
    const response = await fetch("/kiosk/heartbeat", { method: "POST", headers: { "X-CSRF-Token": csrf }, cache: "no-store" });
    document.body.dataset.heartbeat = response.ok ? "ok" : "refused";
  } catch {
    document.body.dataset.heartbeat = "offline";
  }
}

beat();
setInterval(beat, EVERY_MS);
