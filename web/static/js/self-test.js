// The room's device self-test: camera preview, microphone level, speaker tone, network round trips.
const messages = JSON.parse(document.getElementById("selftest-messages").textContent);
const $ = (id) => document.getElementById(id);
// What the server keeps as the room's last self-test (a room account's page reports it once).
const results = { camera: null, microphone: null, speaker: null, network: null, network_ms: null, detail: "" };
const MIC_WAIT_MS = 10000;

function mark(id, ok, text) {
  const el = $(id);
  el.textContent = text;
  el.dataset.ok = ok ? "yes" : "no";
  results[id.replace("-result", "")] = ok;
}

async function cameraAndMicrophone() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  } catch (error) {
    results.detail = `${error.name}: ${error.message}`.slice(0, 300);
    mark("camera-result", false, `${messages.no_device} (${error.name})`);
    mark("microphone-result", false, messages.no_device);
    return;
  }
  $("preview").srcObject = stream;
  mark("camera-result", stream.getVideoTracks().length > 0, stream.getVideoTracks().length ? messages.ok : messages.no_device);
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let loudest = 0;
  mark("microphone-result", false, messages.speak);
  const tick = () => {
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    $("mic-level").value = Math.min(1, rms * 4);
    loudest = Math.max(loudest, rms);
    if (loudest > 0.01) mark("microphone-result", true, messages.ok);
    requestAnimationFrame(tick);
  };
  tick();
}

function speaker() {
  $("play-tone").onclick = () => {
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    oscillator.frequency.value = 660;
    oscillator.connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + 1);
    mark("speaker-result", true, messages.heard);
  };
}

async function network() {
  const times = [];
  for (let i = 0; i < 5; i += 1) {
    const started = performance.now();
    let response;
    try {
      response = await fetch(`/healthz?probe=${i}`, { cache: "no-store" });
    } catch {
      response = { ok: false };
    }
    if (!response.ok) { mark("network-result", false, messages.failed); return; }
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[2];
  results.network_ms = Math.round(median);
  mark("network-result", median < 300, `${Math.round(median)} ${messages.ms}${median < 300 ? "" : " · " + messages.slow}`);
}

async function microphoneHeard() {
  const started = performance.now();
  while (results.microphone !== true && results.camera !== false && performance.now() - started < MIC_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function report(url) {
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  let ok = false;
  try {
    const response = await fetch(url, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(results) });
    ok = response.ok;
  } catch {
    ok = false;
  }
  $("self-test-report").textContent = ok ? messages.saved : messages.not_saved;
  $("self-test").dataset.reported = ok ? "yes" : "no";
}

const checked = Promise.all([cameraAndMicrophone(), network()]);
speaker();
const reportTo = $("self-test").dataset.report;
// The microphone passes once someone speaks: wait a little for it, then report what was found.
if (reportTo) checked.then(microphoneHeard).then(() => report(reportTo));
