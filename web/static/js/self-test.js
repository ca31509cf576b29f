// The room's device self-test: camera preview, microphone level, speaker tone, network round trips.
const messages = JSON.parse(document.getElementById("selftest-messages").textContent);
const $ = (id) => document.getElementById(id);

function mark(id, ok, text) {
  const el = $(id);
  el.textContent = text;
  el.dataset.ok = ok ? "yes" : "no";
}

async function cameraAndMicrophone() {
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  } catch (error) {
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
    const response = await fetch(`/healthz?probe=${i}`, { cache: "no-store" });
    if (!response.ok) { mark("network-result", false, messages.failed); return; }
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[2];
  mark("network-result", median < 300, `${Math.round(median)} ${messages.ms}${median < 300 ? "" : " · " + messages.slow}`);
}

cameraAndMicrophone();
speaker();
network();
