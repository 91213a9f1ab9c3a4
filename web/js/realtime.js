// The live connection: a WebSocket to the realtime API that reconnects with exponential backoff and jitter, checks
// it is still alive with pings, and emits "open" every time it (re)connects so the timeline can fill the gap: tweets
// posted while the socket was down are fetched over REST (tweets newer than the newest one on screen).
//
// Events (on this EventTarget): "status" {detail: "connecting" | "live" | "offline"}, "open", and one event per
// server message type, e.g. "new_tweet" {detail: {type, tweet}}, "notification" {detail: {..., unread_count}}.

const PING_EVERY_MS = 25_000;
const PONG_TIMEOUT_MS = 10_000;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

export class LiveConnection extends EventTarget {
  constructor(wsUrl, token) {
    super();
    this.url = new URL(wsUrl);
    this.url.searchParams.set("token", token);
    this.socket = null;
    this.attempt = 0;
    this.stopped = true;
    this.status = "offline";
    this.timers = {};
    this.onOnline = () => this.reconnectNow();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    window.addEventListener("online", this.onOnline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    this.clearTimers();
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close(1000, "bye");
      this.socket = null;
    }
    this.setStatus("offline");
  }

  reconnectNow() {
    if (this.stopped || this.status === "live") return;
    clearTimeout(this.timers.retry);
    this.connect();
  }

  connect() {
    this.clearTimers();
    this.setStatus("connecting");
    let socket;
    try {
      socket = new WebSocket(this.url.href);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setStatus("live");
      this.dispatchEvent(new Event("open"));
      this.timers.ping = setInterval(() => this.ping(), PING_EVERY_MS);
    };
    socket.onmessage = (event) => {
      clearTimeout(this.timers.pong);
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.type === "string") {
        this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (!this.stopped) this.scheduleRetry();
    };
    socket.onerror = () => {}; // a close event always follows
  }

  ping() {
    if (this.socket?.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify({ action: "ping" }));
    clearTimeout(this.timers.pong);
    // No answer at all: the connection is dead without having been closed (sleeping laptop, dropped NAT entry).
    this.timers.pong = setTimeout(() => this.socket?.close(4000, "no pong"), PONG_TIMEOUT_MS);
  }

  scheduleRetry() {
    this.setStatus("offline");
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: clients do not reconnect in lockstep
    this.attempt += 1;
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: status }));
  }

  clearTimers() {
    clearInterval(this.timers.ping);
    clearTimeout(this.timers.pong);
    clearTimeout(this.timers.retry);
    this.timers = {};
  }
}
