// The WebSocket client for /ws, written to the public contract.
//
// Guarantees the pages rely on:
//  - Nothing lost: every outgoing message waits in an outbox until its ack arrives; after a
//    reconnect the outbox is sent again with the same client_msg_id (the server stores a
//    client_msg_id once and answers a repeat with the same ack), and each room is re-joined with
//    after_seq, so everything stored while we were away is replayed.
//  - Nothing doubled: incoming messages are deduplicated by (room, seq); a replayed copy of our
//    own message settles its outbox entry instead of showing twice.
//  - Gaps are filled from HTTP history (storage is the source of truth), never guessed.
//  - Dead connections are noticed (ping keepalive) and replaced with exponential back-off.
//
// Events (CustomEvent, payload in event.detail): status, ready, joined, message, ack,
// send-failed, typing, presence, room_risk, queue_update, alert, error, unauthorized, pending.

const CLOSE_BAD_TOKEN = 4401;
const CLOSE_CLIENT = 4000; // we closed it ourselves to replace it

export function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

class RoomState {
  constructor(lastSeq = 0) {
    this.lastSeq = lastSeq; // highest seq with nothing missing below it
    this.ahead = new Set(); // seqs seen above lastSeq (arrived early)
    this.joined = false;
    this.filling = false;
    this.watch = undefined; // supervisors: watch silently (true) or join openly (false)
  }
  has(seq) {
    return seq <= this.lastSeq || this.ahead.has(seq);
  }
  advanceTo(seq) {
    if (seq <= this.lastSeq) return;
    this.lastSeq = seq;
    for (const s of this.ahead) if (s <= seq) this.ahead.delete(s);
    this.compact();
  }
  mark(seq) {
    if (seq > this.lastSeq) this.ahead.add(seq);
    this.compact();
  }
  compact() {
    while (this.ahead.has(this.lastSeq + 1)) {
      this.lastSeq += 1;
      this.ahead.delete(this.lastSeq);
    }
  }
  get hasGap() {
    return this.ahead.size > 0;
  }
}

export class ChatSocket extends EventTarget {
  /**
   * @param {object} options
   * @param {() => string|null} options.getToken
   * @param {(roomId: string, afterSeq: number) => Promise<object[]>} [options.fetchAfter]
   *   reads stored messages after a seq (HTTP); used to fill gaps.
   * @param {{load(): object[], save(entries: object[]): void}} [options.outboxStore]
   *   keeps unsent messages across a page reload.
   */
  constructor({
    getToken,
    fetchAfter = null,
    outboxStore = null,
    url = defaultUrl(),
    pingEveryMs = 20000,
    deadAfterMs = 45000,
    minDelayMs = 500,
    maxDelayMs = 30000,
  }) {
    super();
    this.getToken = getToken;
    this.fetchAfter = fetchAfter;
    this.outboxStore = outboxStore;
    this.url = url;
    this.pingEveryMs = pingEveryMs;
    this.deadAfterMs = deadAfterMs;
    this.minDelayMs = minDelayMs;
    this.maxDelayMs = maxDelayMs;

    this.ws = null;
    this.status = "idle"; // idle | connecting | ready | waiting | offline | stopped | unauthorized
    this.user = null;
    this.attempt = 0;
    this.rooms = new Map();
    this.channels = new Set();
    this.outbox = new Map(); // client_msg_id -> {room_id, client_msg_id, body, queued_at}
    this.lastTyping = new Map();
    this.timers = { retry: 0, ping: 0 };
    this.lastFrameAt = 0;

    for (const entry of outboxStore?.load() ?? []) {
      if (entry && entry.client_msg_id && entry.room_id) this.outbox.set(entry.client_msg_id, entry);
    }
    this.onOnline = () => this.reconnectNow();
    this.onOffline = () => this.goOffline();
    this.onVisible = () => {
      if (document.visibilityState === "visible" && this.status === "waiting") this.reconnectNow();
    };
  }

  // --- lifecycle -----------------------------------------------------------------------

  start() {
    if (this.status !== "idle" && this.status !== "stopped") return;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    document.addEventListener("visibilitychange", this.onVisible);
    if (navigator.onLine === false) this.setStatus("offline");
    else this.connect();
  }

  stop() {
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.clearTimers();
    this.setStatus("stopped");
    this.closeSocket(1000);
  }

  get isReady() {
    return this.status === "ready";
  }

  connect() {
    this.clearTimers();
    const token = this.getToken();
    if (!token) {
      this.setStatus("unauthorized");
      return;
    }
    this.setStatus("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.lastFrameAt = Date.now();
      ws.send(JSON.stringify({ type: "auth", token }));
      this.startKeepalive();
    };
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastFrameAt = Date.now();
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === "string") this.handle(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return; // an old socket we already replaced
      this.ws = null;
      this.onClosed(event.code);
    };
    ws.onerror = () => {}; // onclose follows and decides what to do
  }

  onClosed(code) {
    clearInterval(this.timers.ping);
    for (const room of this.rooms.values()) room.joined = false;
    if (this.status === "stopped" || this.status === "offline") return;
    if (code === CLOSE_BAD_TOKEN) {
      this.setStatus("unauthorized");
      this.emit("unauthorized", { code });
      return;
    }
    // 1001 going away, 1006 dropped, 4408/4429-style "reconnect and resume": all resume.
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    clearTimeout(this.timers.retry);
    const ceiling = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2); // jitter: no stampede
    this.attempt += 1;
    this.setStatus("waiting", { retryInMs: delay });
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.status === "stopped" || this.status === "unauthorized") return;
    if (this.status === "ready" || this.status === "connecting") return;
    this.attempt = 0;
    this.connect();
  }

  // The browser says the network is gone: close now and wait for "online" rather than
  // burning retries against a dead link.
  goOffline() {
    if (this.status === "stopped" || this.status === "unauthorized") return;
    this.clearTimers();
    this.setStatus("offline");
    this.closeSocket(CLOSE_CLIENT);
  }

  closeSocket(code) {
    const ws = this.ws;
    this.ws = null;
    for (const room of this.rooms.values()) room.joined = false;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try {
        ws.close(code);
      } catch {
        /* already closing */
      }
    }
  }

  startKeepalive() {
    clearInterval(this.timers.ping);
    this.timers.ping = setInterval(() => {
      if (Date.now() - this.lastFrameAt > this.deadAfterMs) {
        // Silent for too long: the link is dead even if the browser has not noticed.
        this.closeSocket(CLOSE_CLIENT);
        this.onClosed(1006);
        return;
      }
      this.transmit({ type: "ping" });
    }, this.pingEveryMs);
  }

  clearTimers() {
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.ping);
  }

  setStatus(status, extra = {}) {
    this.status = status;
    this.emit("status", { status, ...extra });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  transmit(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // --- what the pages call -------------------------------------------------------------

  /**
   * Follow a room from afterSeq on (the seq of the last message the page already shows).
   * options.watch: for supervisors, true watches silently (the default on the server), false
   * joins the conversation openly. Remembered for every re-join after a reconnect.
   */
  join(roomId, afterSeq = 0, options = {}) {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new RoomState(afterSeq);
      this.rooms.set(roomId, room);
    } else {
      room.advanceTo(afterSeq);
    }
    if (typeof options.watch === "boolean") room.watch = options.watch;
    if (this.isReady) this.transmitJoin(roomId, room);
  }

  transmitJoin(roomId, room) {
    const frame = { type: "join", room_id: roomId, after_seq: room.lastSeq };
    if (typeof room.watch === "boolean") frame.watch = room.watch;
    this.transmit(frame);
  }

  /**
   * Messages the page read over HTTP (history): mark them delivered, and settle any outbox
   * entry among them (stored before a reload, its ack never seen). Returns the messages that
   * are not the page's own pending ones, to render.
   */
  absorb(roomId, messages) {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new RoomState(0);
      this.rooms.set(roomId, room);
    }
    const fresh = [];
    for (const message of messages) {
      if (message.client_msg_id && this.outbox.has(message.client_msg_id)) {
        this.settle(message.client_msg_id, message.seq, message.message_id, message);
      } else if (!room.has(message.seq)) {
        room.mark(message.seq);
        fresh.push(message);
      }
    }
    return fresh;
  }

  leave(roomId) {
    this.rooms.delete(roomId);
    for (const [id, entry] of this.outbox) if (entry.room_id === roomId) this.outbox.delete(id);
    this.saveOutbox();
    this.transmit({ type: "leave", room_id: roomId });
  }

  subscribe(channel) {
    this.channels.add(channel);
    if (this.isReady) this.transmit({ type: "subscribe", channel });
  }

  /** Queue a message; returns its client_msg_id. It is sent now if we can, else on reconnect. */
  send(roomId, body) {
    const entry = {
      room_id: roomId,
      client_msg_id: newClientMsgId(),
      body,
      queued_at: new Date().toISOString(),
    };
    this.outbox.set(entry.client_msg_id, entry);
    this.saveOutbox();
    this.lastTyping.delete(roomId); // the next keystroke starts a new "typing…"
    const room = this.rooms.get(roomId);
    if (this.isReady && room?.joined) this.transmitSend(entry);
    return entry.client_msg_id;
  }

  /**
   * A private staff note for a room (staff only; never a message, never seen by the
   * participant). Returns its client_msg_id, or null when not connected: notes are not queued,
   * so that the person writing knows at once it was not saved.
   */
  note(roomId, body) {
    const clientMsgId = newClientMsgId();
    return this.transmit({ type: "note", room_id: roomId, client_msg_id: clientMsgId, body }) ? clientMsgId : null;
  }

  /** Messages not yet acknowledged for a room, oldest first (to show as "sending"). */
  pending(roomId) {
    return [...this.outbox.values()].filter((e) => e.room_id === roomId);
  }

  typing(roomId) {
    const now = Date.now();
    if (now - (this.lastTyping.get(roomId) || 0) < 3000) return; // throttle: one frame per 3 s
    this.lastTyping.set(roomId, now);
    this.transmit({ type: "typing", room_id: roomId });
  }

  lastSeq(roomId) {
    return this.rooms.get(roomId)?.lastSeq ?? 0;
  }

  // --- frames from the server ----------------------------------------------------------

  handle(frame) {
    switch (frame.type) {
      case "ready":
        this.user = frame.user || null;
        this.attempt = 0;
        this.setStatus("ready");
        this.emit("ready", frame);
        for (const channel of this.channels) this.transmit({ type: "subscribe", channel });
        for (const [roomId, room] of this.rooms) this.transmitJoin(roomId, room);
        break;
      case "joined":
        this.onJoined(frame);
        break;
      case "message":
        this.onMessage(frame);
        break;
      case "ack":
        this.onAck(frame);
        break;
      case "error":
        this.onError(frame);
        break;
      case "pong":
        break;
      default:
        // typing, presence, room_risk, queue_update, alert, and anything newer.
        this.emit(frame.type, frame);
    }
  }

  onJoined(frame) {
    const room = this.rooms.get(frame.room_id);
    if (!room) return; // left meanwhile
    room.joined = true;
    this.emit("joined", frame);
    // Re-send what was never acknowledged, in the order it was written, same client_msg_id.
    for (const entry of this.pending(frame.room_id)) this.transmitSend(entry);
    // The server knows of messages we have not seen and did not replay (e.g. a join without
    // after_seq on an older server): fetch them from storage.
    if (typeof frame.last_seq === "number" && frame.last_seq > room.lastSeq) {
      setTimeout(() => this.fillGap(frame.room_id, frame.last_seq), 1500);
    }
  }

  transmitSend(entry) {
    this.transmit({
      type: "send",
      room_id: entry.room_id,
      client_msg_id: entry.client_msg_id,
      body: entry.body,
    });
  }

  onMessage(frame) {
    const { type: _type, ...message } = frame;
    this.accept(message);
  }

  accept(message) {
    const room = this.rooms.get(message.room_id);
    if (!room || typeof message.seq !== "number") return;
    const mine = message.client_msg_id && this.outbox.get(message.client_msg_id);
    if (mine && (!this.user || message.sender?.id === this.user.id)) {
      // Our own message, replayed after a reconnect before its ack reached us.
      this.settle(message.client_msg_id, message.seq, message.message_id, message);
      return;
    }
    if (room.has(message.seq)) return; // already delivered
    room.mark(message.seq);
    this.emit("message", message);
    if (room.hasGap) this.fillGap(message.room_id);
  }

  onAck(frame) {
    this.settle(frame.client_msg_id, frame.seq, frame.message_id, null, frame.room_id);
  }

  settle(clientMsgId, seq, messageId, message, roomIdHint) {
    const entry = this.outbox.get(clientMsgId);
    const roomId = entry?.room_id || message?.room_id || roomIdHint;
    if (entry) {
      this.outbox.delete(clientMsgId);
      this.saveOutbox();
    }
    const room = this.rooms.get(roomId);
    const already = room ? room.has(seq) : false;
    if (room) room.mark(seq);
    this.emit("ack", {
      room_id: roomId,
      client_msg_id: clientMsgId,
      seq,
      message_id: messageId,
      body: entry?.body ?? message?.body,
      duplicate: already && !entry,
    });
    if (room?.hasGap) this.fillGap(roomId);
  }

  onError(frame) {
    const failed = frame.client_msg_id && this.outbox.get(frame.client_msg_id);
    if (failed) {
      if (frame.code === "rate_limited") {
        // Keep it: it goes out again shortly, with the same id.
        setTimeout(() => {
          if (this.outbox.has(failed.client_msg_id) && this.isReady) this.transmitSend(failed);
        }, 2000);
      } else {
        this.outbox.delete(failed.client_msg_id);
        this.saveOutbox();
        this.emit("send-failed", { ...failed, code: frame.code, detail: frame.detail });
      }
    }
    this.emit("error", frame);
  }

  async fillGap(roomId, upTo = null) {
    const room = this.rooms.get(roomId);
    if (!room || room.filling || !this.fetchAfter) return;
    if (!room.hasGap && (upTo === null || upTo <= room.lastSeq)) return;
    room.filling = true;
    try {
      const messages = await this.fetchAfter(roomId, room.lastSeq);
      for (const message of messages) this.accept(message);
    } catch {
      /* the next reconnect's replay covers it */
    } finally {
      room.filling = false;
    }
  }

  saveOutbox() {
    this.outboxStore?.save([...this.outbox.values()]);
    this.emit("pending", { count: this.outbox.size });
  }
}

function defaultUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws`;
}

/** An outbox kept in sessionStorage, so a reload does not lose what was typed but unsent. */
export function sessionOutbox(key) {
  return {
    load() {
      try {
        return JSON.parse(sessionStorage.getItem(key) || "[]");
      } catch {
        return [];
      }
    },
    save(entries) {
      try {
        if (entries.length) sessionStorage.setItem(key, JSON.stringify(entries));
        else sessionStorage.removeItem(key);
      } catch {
        /* storage full or disabled: the outbox still lives in memory */
      }
    },
  };
}
