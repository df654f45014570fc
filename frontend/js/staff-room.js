// One conversation as staff see it: a head with topic, status, risk (words, colour, shape),
// reasons and a mood sparkline; the message log; a composer (or read-only note); actions.
// Used for the peer worker's tabs and the supervisor's room viewer.

import { fetchMessages, friendlyMessage, sentence } from "./api.js";
import { sparkline } from "./charts.js";
import { attachCannedPicker } from "./canned.js";
import { ChatView, bindComposer } from "./chat-view.js";
import { clientConfig } from "./config.js";
import { duration, h, since } from "./dom.js";
import { topicName } from "./resources.js";
import { riskBadge, riskLevel } from "./risk.js";
import { notesDialog, toast } from "./ui.js";

const STATUS_WORDS = { waiting: "Waiting", active: "Active", closed: "Ended" };

/** A detected emotional shift in plain words: how fast, and what showed it (protocol.md). */
function shiftWords(shift) {
  const how = shift.kind === "slide" ? "getting worse over several messages" : "a sudden change";
  if (shift.signal === "distress") return `${how}: more distress (risk language, sadness or fear)`;
  if (shift.signal === "both") return `${how}: lower mood and more distress`;
  return `${how} in mood`;
}

export class StaffRoom {
  /**
   * @param {object} o
   * @param {string} o.roomId
   * @param {import("./api.js").Api} o.api
   * @param {import("./socket.js").ChatSocket} o.socket
   * @param {{user_id: string, handle: string}} o.session
   * @param {import("./risk.js").MoodHistory} o.moods
   * @param {boolean} [o.readOnly]  watch without posting (a supervisor looking in)
   * @param {boolean} [o.watch]  the join frame's watch flag (supervisors)
   * @param {(room: StaffRoom) => HTMLElement[]} [o.actions]  buttons for the head
   * @param {(room: StaffRoom) => void} [o.onChange]  summary or risk changed (tabs, queue)
   * @param {(room: StaffRoom) => void} [o.onIncoming]  a message from someone else arrived
   */
  constructor(o) {
    Object.assign(this, { readOnly: false, watch: undefined, onChange() {}, onIncoming() {}, actions: () => [] }, o);
    this.summary = { room_id: this.roomId, status: "active", kind: "one_to_one", topic: null };
    this.risk = { level: "none", reasons: [] };
    this.shift = null;
    this.online = [];
    this.highlightSeq = null;

    this.title = h("h2", { class: "room-title", tabindex: "-1" });
    this.meta = h("p", { class: "room-meta" });
    this.reasons = h("p", { class: "room-reasons" });
    this.spark = h("div", { class: "room-spark" });
    this.actionBar = h("div", { class: "room-actions" });
    this.head = h(
      "div",
      { class: "room-head" },
      h("div", { class: "room-head-text" }, this.title, this.meta, this.reasons),
      this.spark,
      this.actionBar,
    );
    this.logRoot = h("div", { class: "chat-log" });
    this.composerForm = h(
      "form",
      { class: "composer", autocomplete: "off" },
      h("label", { for: `composer-${this.roomId}`, class: "visually-hidden", text: "Write a message" }),
      h("textarea", { id: `composer-${this.roomId}`, rows: "1", placeholder: "Write a message…" }),
      h("button", { type: "submit", class: "btn primary", text: "Send" }),
      h("p", { class: "composer-hint", "aria-live": "polite" }),
    );
    this.readOnlyNote = h("p", { class: "readonly-note", role: "note" });
    this.el = h("section", { class: "staff-room", dataset: { roomId: this.roomId } }, this.head, this.logRoot, this.readOnlyNote, this.composerForm);
    this.chat = new ChatView(this.logRoot, { me: () => this.session.user_id, staff: true, label: "Conversation messages" });
    this.composer = bindComposer(this.composerForm, {
      onSend: (body) => this.send(body),
      onTyping: () => this.socket.typing(this.roomId),
    });
    clientConfig().then((config) => this.composer.setLimit(config.max_body_chars));
    attachCannedPicker({ api: this.api, form: this.composerForm, input: this.composer.input });
    this.renderActions();
  }

  async load() {
    await this.refresh();
    try {
      const history = await fetchMessages(this.api, this.roomId, 0);
      for (const message of this.socket.absorb(this.roomId, history)) this.chat.addMessage(message);
    } catch {
      /* the socket's replay brings them */
    }
    for (const entry of this.socket.pending(this.roomId)) this.chat.addPending(entry, this.session.handle);
    this.socket.join(this.roomId, this.chat.lastSeq(), typeof this.watch === "boolean" ? { watch: this.watch } : {});
    this.chat.scrollToEnd(true);
    this.markHighlight();
  }

  async refresh() {
    try {
      this.summary = await this.api.get(`/rooms/${encodeURIComponent(this.roomId)}`);
      if (this.summary.risk && !this.risk.reasons?.length) this.risk = { ...this.risk, level: riskLevel(this.summary.risk) };
    } catch {
      /* keep the last summary */
    }
    this.render();
  }

  /**
   * A notice (joined, handed over, closed) changed the room: re-read it shortly, once for a
   * burst of notices, and not at all if the tab closed meanwhile (after a hand-over this
   * worker may no longer read the room).
   */
  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      if (!this.destroyed) this.refresh();
    }, 250);
  }

  send(body) {
    const id = this.socket.send(this.roomId, body);
    const entry = this.socket.outbox.get(id);
    if (entry) this.chat.addPending(entry, this.session.handle);
  }

  // --- socket events, routed here by the page ---------------------------------------------

  onMessage(message) {
    if (!this.chat.addMessage(message)) return;
    if (message.sender?.role === "system") this.refreshSoon();
    else if (message.sender?.id !== this.session.user_id) this.onIncoming(this);
    this.markHighlight();
  }

  onAck(detail) {
    this.chat.ack(detail, this.session.handle);
  }

  onSendFailed(detail) {
    this.chat.fail(detail, sentence(detail.detail || "") || "please try again.");
  }

  onTyping(handle) {
    if (handle !== this.session.handle) this.chat.showTyping(handle);
  }

  onPresence(online) {
    this.online = online.filter((handle) => handle !== this.session.handle);
    this.render();
  }

  onRisk(frame) {
    this.risk = { level: riskLevel(frame.risk), reasons: frame.risk?.reasons || [] };
    this.shift = frame.shift || null;
    if (frame.sentiment && Number.isFinite(frame.sentiment.score)) {
      this.moods.add(this.roomId, frame.seq, frame.sentiment.score);
    }
    this.render();
  }

  // --- drawing -------------------------------------------------------------------------------

  get level() {
    return riskLevel(this.risk.level !== "none" ? this.risk : this.summary.risk);
  }

  get closed() {
    return this.summary.status === "closed";
  }

  label() {
    const s = this.summary;
    if (s.kind === "group") return s.name || "Group";
    return s.topic ? topicName(s.topic) : "Conversation";
  }

  render() {
    const s = this.summary;
    this.title.textContent = this.label();
    const parts = [STATUS_WORDS[s.status] || s.status];
    const waited = since(s.waiting_since);
    if (s.status === "waiting" && Number.isFinite(waited)) parts.push(`waiting ${duration(waited)}`);
    if (s.channel === "sms") parts.push("by SMS: keep replies short, each goes out as a text");
    if (this.online.length) parts.push(`here now: ${this.online.join(", ")}`);
    this.meta.replaceChildren(riskBadge(this.level), ` ${parts.join(" · ")}`);
    const why = [...(this.risk.reasons || [])];
    if (this.shift?.detected) why.push(shiftWords(this.shift));
    this.reasons.textContent = why.length ? `Why: ${why.join("; ")}` : "";
    this.reasons.hidden = !why.length;
    this.spark.replaceChildren(sparkline(this.moods.get(this.roomId)));
    const canPost = !this.closed && !this.readOnly;
    this.composerForm.hidden = !canPost;
    this.readOnlyNote.hidden = canPost;
    this.readOnlyNote.textContent = this.closed
      ? "This conversation has ended."
      : "You are watching silently: nobody in the room can see you. Join to write.";
    this.composer.setEnabled(canPost);
    this.renderActions();
    this.onChange(this);
  }

  renderActions() {
    this.actionBar.replaceChildren(...this.actions(this));
  }

  highlight(seq) {
    this.highlightSeq = seq;
    this.markHighlight();
  }

  markHighlight() {
    if (!this.highlightSeq) return;
    const el = this.chat.bySeq.get(this.highlightSeq);
    if (el) {
      el.classList.add("highlight");
      el.scrollIntoView({ block: "center" });
    }
  }

  destroy() {
    this.destroyed = true;
    clearTimeout(this.refreshTimer);
    this.socket.leave(this.roomId);
    this.el.remove();
  }
}

/**
 * Ask for wrap-up notes, close the room, and refresh it. Resolves true when it was closed,
 * so that each page can then refresh what it shows besides the room.
 */
export async function closeWithNotes(api, room) {
  const notes = await notesDialog({
    title: "Close this conversation?",
    label: "Notes for the team (optional, not shown to the participant)",
    confirm: "Close conversation",
  });
  if (notes === null) return false;
  try {
    await api.post(`/rooms/${encodeURIComponent(room.roomId)}/close`, notes ? { notes } : {});
    await room.refresh();
    toast("Conversation closed.");
    return true;
  } catch (error) {
    toast(friendlyMessage(error), "error");
    return false;
  }
}
