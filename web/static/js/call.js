// The call module: one signaling WebSocket and one RTCPeerConnection to the server (SFU).
// Protocol: signaling/README.md. No build step; import it as an ES module.

const FINAL_CLOSE_CODES = new Set([1000, 4403, 4409, 4410]);
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
// A shared screen reaches the others as a stream of its own, named "<participant id>-screen".
const SCREEN_STREAM = /^(.+)-screen$/;
// What the server says when it refuses or cannot carry a screen share.
const SCREEN_ERROR = "screen share:";

/** The participant whose shared screen a forwarded stream is, or null for a camera's stream. */
export function screenOwner(streamId) {
  const match = SCREEN_STREAM.exec(streamId);
  return match ? match[1] : null;
}

/** The mids of the video m-lines an offer lets this side send on: the server's slot for a shared screen. */
function sendSlots(sdp) {
  const mids = [];
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const lines = section.split(/\r?\n/);
    const mid = lines.find((line) => line.startsWith("a=mid:"));
    if (lines[0].startsWith("video") && lines.includes("a=recvonly") && mid) mids.push(mid.slice(6));
  }
  return mids;
}

function waitForIceGathering(pc, timeoutMs = 5000) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { pc.removeEventListener("icegatheringstatechange", check); resolve(); };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    pc.addEventListener("icegatheringstatechange", check);
    setTimeout(done, timeoutMs);
  });
}

export class Call extends EventTarget {
  /**
   * @param {object} options
   * @param {() => Promise<string|{ws_url: string, ice_servers?: RTCIceServer[]}>} options.joinUrl  resolves to the
   *   ws:// URL with a fresh join token, or to the join answer (its ice_servers carry this page's TURN credentials)
   * @param {MediaStream} options.localStream        camera and microphone (or a test stream)
   * @param {RTCIceServer[]} [options.iceServers]
   */
  constructor({ joinUrl, localStream, iceServers = [] }) {
    super();
    this.joinUrl = joinUrl;
    this.localStream = localStream;
    this.iceServers = iceServers;
    this.ws = null;
    this.pc = null;
    this.admitted = false;
    this.finished = false;
    this.retries = 0;
    this.participantId = null;
    this.role = null;
    this.remoteStreams = new Map();
    // The screen this page shares: {track, transceiver (once the server's slot carries it), confirmed (by `state`)}.
    this.screen = null;
    this.qualityTimer = null;
    this.log = [];  // the last signaling messages, for support staff and tests
  }

  emit(type, detail = {}) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  async start() { await this.connect(); this.qualityTimer = setInterval(() => this.measureQuality(), 2000); }

  async connect() {
    const joined = await this.joinUrl();
    const url = typeof joined === "string" ? joined : joined.ws_url;
    // Time-limited TURN credentials come with each join token; the next peer connection uses them.
    if (typeof joined !== "string" && Array.isArray(joined.ice_servers)) this.iceServers = joined.ice_servers;
    const ws = new WebSocket(url);
    this.ws = ws;
    // Messages are handled one at a time: an offer must be answered before the next one is applied.
    this.queue = Promise.resolve();
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      this.queue = this.queue.then(() => this.onMessage(message)).catch((error) => {
        console.error("vreception call:", message.type, error);
        this.emit("failure", { type: message.type, error: String(error) });
      });
    };
    ws.onopen = () => { this.retries = 0; this.emit("connection", { state: "signaling-open" }); };
    ws.onclose = (event) => this.onClose(event);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  onClose(event) {
    this.emit("connection", { state: "signaling-closed", code: event.code, reason: event.reason });
    if (this.finished || FINAL_CLOSE_CODES.has(event.code)) { this.stop(); return; }
    // Dropped (network, server restart) or the join token expired (4401): join again, same seat.
    const delay = RETRY_DELAYS_MS[Math.min(this.retries, RETRY_DELAYS_MS.length - 1)];
    this.retries += 1;
    setTimeout(() => { if (!this.finished) this.connect().catch(() => this.onClose({ code: 0 })); }, delay);
  }

  async onMessage(message) {
    this.log.push({ at: Date.now(), type: message.type, size: message.sdp ? message.sdp.length : 0 });
    if (this.log.length > 100) this.log.shift();
    switch (message.type) {
      case "welcome":
        this.participantId = message.participant_id;
        this.role = message.role;
        this.emit("welcome", message);
        break;
      case "lobby":
        this.admitted = false;
        this.stopScreen({ tell: false });  // the server ended the share when it sent this page to the lobby
        this.closePeer();
        this.emit("lobby", message);
        break;
      case "admitted":
        this.admitted = true;
        this.emit("admitted", message);
        await this.startMedia();
        break;
      case "answer":
        if (this.pc) await this.pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        break;
      case "offer":
        await this.onServerOffer(message.sdp);
        break;
      case "state":
        this.lastState = message;  // for modules that start listening late (call-evidence.js)
        this.followScreen(message);
        this.emit("state", message);
        break;
      case "bye":
        this.finished = true;
        this.emit("bye", message);
        this.stop();
        break;
      case "error":
        // A share refused (or without a media connection to carry it): let go of the screen.
        if (this.screen && (message.detail || "").startsWith(SCREEN_ERROR)) this.stopScreen({ tell: this.screen.confirmed });
        this.emit("error", message);
        break;
      case "mute":
        // A moderator muted this participant's microphone; only the participant turns it on again.
        this.setAudio(false);
        this.emit("muted", message);
        break;
      case "floor":
        // The chair gave this participant the floor: the microphone goes on.
        this.setAudio(true);
        this.emit("floor", message);
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      default:
        break;
    }
  }

  async startMedia() {
    this.stopScreen();  // a fresh peer connection has no slot for it: share again
    this.closePeer();
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);
    // A watch-only participant (an observer) sends nothing: the server refuses an offer that would send.
    if (this.localStream.getTracks().length === 0) {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    pc.ontrack = (event) => {
      const stream = event.streams[0];
      if (!stream) return;
      // The server names each forwarded stream after its publisher (participant id; "<id>-screen" for a shared screen).
      if (!this.remoteStreams.has(stream.id)) {
        this.remoteStreams.set(stream.id, stream);
        stream.onremovetrack = () => {
          if (stream.getTracks().length === 0) { this.remoteStreams.delete(stream.id); this.emit("remove", { publisher: stream.id }); }
        };
      }
      const owner = screenOwner(stream.id);
      this.emit("track", { publisher: stream.id, stream, kind: event.track.kind, screen: owner !== null,
        participant: owner ?? stream.id });
      // Only the end of a publisher's last track removes its tile (not one track, nor a replaced stream).
      event.track.onended = () => {
        if (this.remoteStreams.get(stream.id) !== stream || stream.getTracks().some((t) => t.readyState === "live")) return;
        this.remoteStreams.delete(stream.id);
        this.emit("remove", { publisher: stream.id });
      };
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pc) return;  // a replaced connection's last words
      this.emit("connection", { state: pc.connectionState });
      if (pc.connectionState === "failed" && this.admitted && !this.finished) {
        // A fresh peer connection: the server treats a new offer as a rejoin of the same seat. It waits its
        // turn in the message queue, so an offer being answered is not applied to the new connection.
        this.queue = this.queue.then(() => {
          if (pc === this.pc && this.admitted && !this.finished) return this.startMedia();
          return undefined;
        }).catch((error) => this.emit("failure", { type: "restart", error: String(error) }));
      }
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await waitForIceGathering(pc);
    this.send({ type: "offer", sdp: pc.localDescription.sdp });
  }

  async onServerOffer(sdp) {
    const pc = this.pc;
    if (!pc) return;
    await pc.setRemoteDescription({ type: "offer", sdp });
    if (pc !== this.pc) return;  // replaced meanwhile (back to the lobby): the server forgot that offer
    await this.fillScreenSlot(pc, sendSlots(sdp));
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (pc === this.pc) this.send({ type: "answer", sdp: pc.localDescription.sdp });
  }

  setAudio(on) { this.setTrack("audio", on); }
  setVideo(on) { this.setTrack("video", on); }

  setTrack(kind, on) {
    for (const track of this.localStream.getTracks()) if (track.kind === kind) track.enabled = on;
    const audio = this.localStream.getAudioTracks().some((t) => t.enabled);
    const video = this.localStream.getVideoTracks().some((t) => t.enabled);
    this.send({ type: "media_state", audio, video });
  }

  /**
   * Share a screen or window as an extra video track. TRACK: a video track to share instead of asking the browser
   * (getDisplayMedia, which needs a click); the server then offers a slot for it (fillScreenSlot).
   */
  async shareScreen(track = null) {
    if (this.screen) return;
    const shared = track || (await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false })).getVideoTracks()[0];
    this.screen = { track: shared, transceiver: null, confirmed: false };
    // The browser's own "stop sharing" (or a closed window) ends the track: the share ends everywhere.
    shared.addEventListener("ended", () => { if (this.screen && this.screen.track === shared) this.stopScreen(); });
    this.send({ type: "screen", active: true });
    this.emit("screen", { sharing: true, track: shared });
  }

  /** Stop sharing the screen (TELL: ask the server to end the share; false when it already did). */
  stopScreen({ tell = true } = {}) {
    const screen = this.screen;
    if (!screen) return;
    this.screen = null;
    screen.track.stop();
    if (screen.transceiver && screen.transceiver.sender) screen.transceiver.sender.replaceTrack(null).catch(() => {});
    if (tell) this.send({ type: "screen", active: false });
    this.emit("screen", { sharing: false });
  }

  /** Put the shared screen on the server's new receive-only video m-line (a transceiver not negotiated before). */
  async fillScreenSlot(pc, mids) {
    if (!this.screen || this.screen.transceiver || mids.length === 0) return;
    const slot = pc.getTransceivers().find((t) => mids.includes(t.mid) && t.currentDirection === null && !t.stopped);
    if (!slot) return;
    slot.direction = "sendonly";
    await slot.sender.replaceTrack(this.screen.track);
    this.screen.transceiver = slot;
  }

  /** Keep the share in step with the room: ended there (a moderator, a rejoin) → stop here; a stale one → end it. */
  followScreen(state) {
    const sharer = state.screen ? state.screen.participant_id : null;
    if (this.screen && sharer === this.participantId) this.screen.confirmed = true;
    else if (this.screen && this.screen.confirmed) this.stopScreen({ tell: false });
    else if (!this.screen && sharer !== null && sharer === this.participantId) this.send({ type: "screen", active: false });
  }

  admit(participantId) { this.send({ type: "admit", participant_id: participantId }); }
  mute(participantId) { this.send({ type: "mute", participant_id: participantId }); }
  deny(participantId, reason) { this.send({ type: "deny", participant_id: participantId, reason }); }
  leave() { this.finished = true; this.send({ type: "leave" }); }
  end() { this.send({ type: "end" }); }
  agenda(step) { this.send({ type: "agenda", step }); }
  giveFloor(participantId) { this.send({ type: "give_floor", participant_id: participantId }); }
  takeFloor() { this.send({ type: "take_floor" }); }
  deliberate(active) { this.send({ type: "deliberation", active }); }

  async measureQuality() {
    if (!this.pc) return;
    const stats = await this.pc.getStats();
    let rtt = null; let lost = 0; let received = 0; let framesDecoded = 0; let audioPackets = 0;
    stats.forEach((report) => {
      if (report.type === "candidate-pair" && report.state === "succeeded" && report.currentRoundTripTime !== undefined) rtt = report.currentRoundTripTime;
      if (report.type === "inbound-rtp") {
        lost += report.packetsLost || 0;
        received += report.packetsReceived || 0;
        if (report.kind === "video") framesDecoded += report.framesDecoded || 0;
        if (report.kind === "audio") audioPackets += report.packetsReceived || 0;
      }
    });
    const lossRate = received + lost > 0 ? lost / (received + lost) : 0;
    let level = "good";
    if (rtt === null || lossRate > 0.05 || rtt > 0.4) level = "poor";
    else if (lossRate > 0.01 || rtt > 0.15) level = "fair";
    this.emit("quality", { level, rtt, lossRate, framesDecoded, audioPackets });
  }

  closePeer() {
    if (this.pc) { this.pc.close(); this.pc = null; }
    for (const publisher of this.remoteStreams.keys()) this.emit("remove", { publisher });
    this.remoteStreams.clear();
  }

  stop() {
    this.finished = true;
    this.stopScreen({ tell: false });
    clearInterval(this.qualityTimer);
    this.closePeer();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }

  /** Stop the camera and microphone (the call is over: the devices are released, their lights go off). */
  releaseDevices() {
    for (const track of this.localStream.getTracks()) track.stop();
  }
}
