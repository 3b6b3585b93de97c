// The live connection: one WebSocket to /ws (authenticated by the session cookie), events
// dispatched to the app, a status for the header's indicator, and reconnection with backoff
// that resumes from the last event id (the server replays what was missed, or says "reload").

const PING_EVERY_MS = 20000;
const SILENCE_LIMIT_MS = 50000; // three missed heartbeats (15 s each) and a margin
const MAX_BACKOFF_MS = 30000;

export class LiveConnection extends EventTarget {
  constructor({ checkSession } = {}) {
    super();
    this.state = "offline";
    this.lastEventId = null;
    this.userId = null;
    this.socket = null;
    this.attempt = 0;
    this.stopped = true;
    this.timers = {};
    this.checkSession = checkSession || (async () => true);
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    for (const t of Object.values(this.timers)) { clearTimeout(t); clearInterval(t); }
    this.timers = {};
    if (this.socket) { this.socket.onclose = null; this.socket.close(1000, "logout"); }
    this.socket = null;
    this.setState("offline");
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.lastEventId ? `?last_event_id=${encodeURIComponent(this.lastEventId)}` : "";
    return `${scheme}//${location.host}/ws${query}`;
  }

  connect() {
    if (this.stopped) return;
    this.setState("connecting");
    let socket;
    try {
      socket = new WebSocket(this.url());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    let greeted = false;
    socket.onmessage = (message) => {
      this.touch();
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (!frame || typeof frame !== "object") return;
      if (frame.type === "hello") {
        greeted = true;
        this.attempt = 0;
        this.userId = frame.user_id;
        this.setState("live");
        this.dispatchEvent(new CustomEvent("hello", { detail: frame }));
        return;
      }
      if (frame.type === "heartbeat" || frame.type === "pong") return;
      if (frame.type === "reload") {
        this.dispatchEvent(new CustomEvent("reload", { detail: frame }));
        return;
      }
      if (frame.type === "error") {
        console.warn("live connection:", frame.detail);
        return;
      }
      if (frame.id) this.lastEventId = frame.id;
      this.dispatchEvent(new CustomEvent("event", { detail: frame }));
    };
    socket.onopen = () => {
      this.touch();
      this.timers.ping = setInterval(() => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
      }, PING_EVERY_MS);
    };
    socket.onclose = async (event) => {
      clearInterval(this.timers.ping);
      clearTimeout(this.timers.silence);
      if (this.socket === socket) this.socket = null;
      if (this.stopped) return;
      this.setState("offline");
      // 4401: not (or no longer) logged in. A refused handshake looks like 1006 to a browser,
      // so a failure before the greeting asks the REST API whether the session still holds.
      if (event.code === 4401 || (!greeted && !(await this.checkSession()))) {
        this.dispatchEvent(new CustomEvent("unauthorized"));
        return;
      }
      this.scheduleReconnect();
    };
  }

  touch() {
    clearTimeout(this.timers.silence);
    this.timers.silence = setTimeout(() => {
      // The connection went quiet (a half-open TCP connection): drop it and reconnect.
      if (this.socket) this.socket.close(4000, "silent");
    }, SILENCE_LIMIT_MS);
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => this.connect(), delay);
  }
}
