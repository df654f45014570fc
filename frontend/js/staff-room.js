// One conversation as staff see it: a head with topic, status, risk (words, colour, shape),
// reasons and a mood sparkline; the message log; a composer (or read-only note); actions.
// Used for the peer worker's tabs and the supervisor's room viewer.

import { Newest, fetchMessages, friendlyMessage, sentence } from "./api.js";
import { sparkline } from "./charts.js";
import { attachCannedPicker } from "./canned.js";
import { ChatView, bindComposer } from "./chat-view.js";
import { clientConfig } from "./config.js";
import { clock, duration, h, since } from "./dom.js";
import { topicName } from "./resources.js";
import { RISK_WORDS, isNewerRisk, riskBadge, riskLevel } from "./risk.js";
import { busy, notesDialog, openModal, toast } from "./ui.js";

const RISK_ORDER = ["none", "elevated", "crisis"];

/** Staff names by user id, learnt from messages and notes (and the supervisor page's list), so
 * that "reviewed by" can name the person rather than an id. */
export const staffHandles = new Map();

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
    this.review = null; // {by, at}: who reviewed the room's risk, once an alert was resolved
    this.reads = new Newest(); // summary reads: only the latest one's reply is drawn
    this.riskVersion = null; // the newest risk version shown (see isNewerRisk)
    this.notes = new Map(); // note_id or client_msg_id -> note, in the order they came

    this.title = h("h2", { class: "room-title", tabindex: "-1" });
    this.meta = h("p", { class: "room-meta" });
    this.reasons = h("p", { class: "room-reasons" });
    this.reviewLine = h("p", { class: "room-review", hidden: true });
    this.spark = h("div", { class: "room-spark" });
    this.actionBar = h("div", { class: "room-actions" });
    this.head = h(
      "div",
      { class: "room-head" },
      h("div", { class: "room-head-text" }, this.title, this.meta, this.reviewLine, this.reasons),
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
    this.notesPanel = this.buildNotesPanel();
    this.el = h(
      "section",
      { class: "staff-room", dataset: { roomId: this.roomId } },
      this.head,
      this.notesPanel,
      this.logRoot,
      this.readOnlyNote,
      this.composerForm,
    );
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
    this.loadNotes();
  }

  /**
   * Re-read the room's summary. A reply is dropped when a later read is out (its reply is
   * newer), and its risk is not taken when a newer one is shown already: a reply the server
   * wrote before a help press must not undo the crisis, and the cleared review, that the press
   * brought meanwhile.
   */
  async refresh() {
    const read = this.reads.mark();
    try {
      const summary = await this.api.get(`/rooms/${encodeURIComponent(this.roomId)}`);
      if (!this.reads.latest(read)) return;
      if (!this.takesRisk(summary.risk)) {
        summary.risk = this.summary.risk;
      } else {
        if (summary.risk && !this.risk.reasons?.length) this.risk = { ...this.risk, level: riskLevel(summary.risk) };
        this.takeReview(summary.risk);
      }
      this.summary = summary;
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
    const sender = message.sender;
    if (sender?.id && sender.handle && sender.role && !["participant", "system"].includes(sender.role)) staffHandles.set(sender.id, sender.handle);
    if (!this.chat.addMessage(message)) return;
    if (message.sender?.role === "system") this.refreshSoon();
    else if (message.sender?.id !== this.session.user_id) this.onIncoming(this, message);
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
    if (this.takesRisk(frame.risk)) {
      this.risk = { level: riskLevel(frame.risk), reasons: frame.risk?.reasons || [] };
      this.takeReview(frame.risk);
    }
    this.shift = frame.shift || null;
    if (frame.sentiment && Number.isFinite(frame.sentiment.score)) {
      this.moods.add(this.roomId, frame.seq, frame.sentiment.score);
    }
    this.render();
  }

  /**
   * The room's entry in a queue update: its risk is the room's (the highest level reached, or
   * what staff lowered it to), and a help press lifts it there without a room_risk frame.
   */
  onQueueEntry(entry) {
    if (!entry?.risk || !this.takesRisk(entry.risk)) return;
    const level = riskLevel(entry.risk);
    const before = `${this.level}|${this.review?.at || ""}`;
    this.summary = { ...this.summary, risk: { ...(this.summary.risk || {}), ...entry.risk } };
    if (level !== this.risk.level) this.risk = { level, reasons: level === "none" ? [] : this.risk.reasons || [] };
    this.takeReview(entry.risk);
    if (`${this.level}|${this.review?.at || ""}` !== before) this.render();
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
    this.reviewLine.hidden = !this.review;
    this.reviewLine.textContent = this.review ? reviewWords(this.review, this.session) : "";
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
    this.renderNotes();
    this.onChange(this);
  }

  renderActions() {
    const lower =
      RISK_ORDER.indexOf(this.level) > 0
        ? h("button", {
            type: "button",
            class: "btn ghost small",
            text: "Lower risk",
            "aria-haspopup": "dialog",
            onclick: (e) => busy(e.currentTarget, () => this.lowerRisk()),
          })
        : null;
    this.actionBar.replaceChildren(...this.actions(this), lower);
  }

  // --- risk: the highest level reached; reviewed; lowered only on purpose, with a note ----------

  /** Whether `risk` is as new as the one shown (isNewerRisk); if so, its version is now held. */
  takesRisk(risk) {
    if (!risk || typeof risk !== "object") return true;
    if (!isNewerRisk(risk, this.riskVersion)) return false;
    if (Number.isFinite(risk.version)) this.riskVersion = risk.version;
    return true;
  }

  /** Keep who reviewed the risk and when, from a room summary's or a room_risk frame's risk. */
  takeReview(risk) {
    if (!risk || typeof risk !== "object" || !("reviewed_by" in risk || "reviewed_at" in risk)) return;
    this.reviewKnown = true; // this server reports reviews: no review means none yet
    this.review = risk.reviewed_by || risk.reviewed_at ? { by: risk.reviewed_by, at: risk.reviewed_at } : null;
  }

  /** Whether closing needs a safety note: a crisis nobody has resolved an alert for yet. */
  get crisisUnresolved() {
    if (this.summary.unresolved_crisis_alert !== undefined) return Boolean(this.summary.unresolved_crisis_alert);
    return Boolean(this.reviewKnown) && this.level === "crisis" && !this.review;
  }

  async lowerRisk() {
    const answer = await lowerRiskDialog(this.level);
    if (!answer) return false;
    try {
      const result = await this.api.post(`/rooms/${encodeURIComponent(this.roomId)}/risk`, answer);
      const risk = result?.risk && typeof result.risk === "object" ? result.risk : result;
      const level = riskLevel(risk?.level ? risk : answer.level);
      if (this.takesRisk(risk)) {
        this.risk = { level, reasons: [] };
        this.summary = { ...this.summary, risk: { ...(this.summary.risk || {}), ...(risk || {}), level } };
        this.takeReview(risk);
      }
      await this.refresh();
      toast(`Risk lowered to ${RISK_WORDS[level].toLowerCase()}. Your note is kept with the room.`);
      return true;
    } catch (error) {
      toast(friendlyMessage(error), "error");
      return false;
    }
  }

  // --- private staff notes: never shown to the participant --------------------------------------

  buildNotesPanel() {
    const id = `notes-${this.roomId}`;
    this.notesList = h("ol", { class: "notes-list", "aria-label": "Staff notes, oldest first" });
    this.notesCount = h("span", { class: "notes-count" });
    this.noteInput = h("textarea", { id: `${id}-input`, rows: "2", maxlength: "4000" });
    this.noteError = h("p", { class: "form-error", role: "alert" });
    const form = h(
      "form",
      { class: "note-form", autocomplete: "off" },
      h("label", { for: `${id}-input`, text: "Add a private note for the team" }),
      this.noteInput,
      h("button", { type: "submit", class: "btn outline small", text: "Save note" }),
      this.noteError,
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addNote();
    });
    return h(
      "details",
      { class: "staff-notes", id },
      h("summary", {}, h("span", { class: "private-tag", text: "Private" }), " Staff notes ", this.notesCount),
      h("p", { class: "notes-warning", text: "Only staff can read these notes. The participant never sees them, and they are not part of the conversation." }),
      this.notesList,
      form,
    );
  }

  async loadNotes() {
    try {
      const { notes = [] } = await this.api.get(`/rooms/${encodeURIComponent(this.roomId)}/notes`);
      for (const note of notes) this.onNote(note, { render: false });
    } catch {
      /* older servers have no notes; the panel says there are none */
    }
    this.renderNotes();
  }

  addNote() {
    const body = this.noteInput.value.trim();
    this.noteError.textContent = "";
    if (!body) {
      this.noteError.textContent = "Write the note first.";
      this.noteInput.focus();
      return;
    }
    const clientMsgId = this.socket.note(this.roomId, body);
    if (!clientMsgId) {
      this.noteError.textContent = "Not connected: the note was not saved. Try again when the connection is back.";
      return;
    }
    this.notes.set(clientMsgId, {
      client_msg_id: clientMsgId,
      body,
      author: { id: this.session.user_id, handle: this.session.handle },
      sent_at: new Date().toISOString(),
      pending: true,
    });
    this.noteInput.value = "";
    this.renderNotes();
    setTimeout(() => {
      const note = this.notes.get(clientMsgId);
      if (note?.pending) {
        note.failed = true;
        this.renderNotes();
      }
    }, 10000);
  }

  onNoteAck(frame) {
    const note = this.notes.get(frame.client_msg_id);
    if (!note) return;
    this.notes.delete(frame.client_msg_id);
    if (!this.notes.has(frame.note_id)) this.notes.set(frame.note_id, { ...note, note_id: frame.note_id, pending: false });
    this.renderNotes();
  }

  onNote(note, { render = true } = {}) {
    if (!note?.note_id || this.notes.has(note.note_id)) return;
    for (const [key, mine] of this.notes) {
      if (mine.pending && note.client_msg_id && note.client_msg_id === mine.client_msg_id) this.notes.delete(key);
    }
    this.notes.set(note.note_id, note);
    if (note.author?.id && note.author.handle) staffHandles.set(note.author.id, note.author.handle);
    if (render) this.renderNotes();
  }

  renderNotes() {
    if (!this.notesList) return;
    const notes = [...this.notes.values()];
    this.notesCount.textContent = `(${notes.length})`;
    this.notesList.replaceChildren(
      ...(notes.length
        ? notes.map((n) =>
            h(
              "li",
              { class: `note${n.pending ? " pending" : ""}${n.failed ? " failed" : ""}`, dataset: n.note_id ? { noteId: n.note_id } : {} },
              h(
                "p",
                { class: "meta" },
                h("span", { class: "who", text: n.author?.id === this.session.user_id ? "You" : n.author?.handle || "Staff" }),
                " ",
                h("time", { datetime: n.sent_at || "", text: clock(n.sent_at) }),
                n.failed ? " · not saved" : n.pending ? " · saving…" : "",
              ),
              h("p", { class: "body", text: n.body }),
            ),
          )
        : [h("li", { class: "muted", text: "No notes yet." })]),
    );
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

/** "Reviewed by Jo at 14:02": who looked at the room's risk after its alert, and when. */
function reviewWords({ by, at }, session) {
  let who = by && typeof by === "object" ? by.handle || by.id : by;
  if (who && who === session?.user_id) who = "you";
  else if (who && staffHandles.has(who)) who = staffHandles.get(who);
  else if (who && /^[a-z]+_[0-9a-z]{8,}$/i.test(who)) who = "a supervisor"; // an id we cannot name
  return `Reviewed${who ? ` by ${who}` : ""}${at ? ` at ${clock(at)}` : ""}`;
}

/**
 * Ask for wrap-up notes, close the room, and refresh it. Resolves true when it was closed,
 * so that each page can then refresh what it shows besides the room. A room with a crisis
 * alert nobody has resolved asks what was done for the person's safety first (the server
 * refuses to close it without that, 409); when the page could not know, the refusal asks.
 */
export async function closeWithNotes(api, room) {
  let body;
  if (room.crisisUnresolved) {
    body = await safetyDialog();
  } else {
    const notes = await notesDialog({
      title: "Close this conversation?",
      label: "Notes for the team (optional, not shown to the participant)",
      confirm: "Close conversation",
    });
    body = notes === null ? null : notes ? { notes } : {};
  }
  if (body === null) return false;
  const url = `/rooms/${encodeURIComponent(room.roomId)}/close`;
  try {
    try {
      await api.post(url, body);
    } catch (error) {
      // 409 on a room still open: the server wants a safety note (an unresolved crisis alert).
      if (!(error?.status === 409 && !body.safety_note && !room.closed)) throw error;
      const safety = await safetyDialog({ notes: body.notes });
      if (safety === null) return false;
      await api.post(url, safety);
    }
    await room.refresh();
    toast("Conversation closed.");
    return true;
  } catch (error) {
    toast(friendlyMessage(error), "error");
    return false;
  }
}

// --- dialogs made on first use (the same on both staff pages) -----------------------------------

const SAFETY_STEPS = [
  ["helplines", "Helplines or crisis lines shared"],
  ["emergency", "Emergency services contacted"],
  ["family", "Family, a friend or someone nearby contacted"],
  ["safe", "They said they are safe for now"],
  ["plan", "Agreed what they will do next (a safety plan)"],
];

function dialogShell(id, title, ...content) {
  let dialog = document.getElementById(id);
  if (dialog) dialog.remove();
  dialog = h(
    "dialog",
    { id, "aria-labelledby": `${id}-title` },
    h("form", { class: "dialog-inner", novalidate: true }, h("h2", { id: `${id}-title`, class: "dialog-title", text: title }), ...content),
  );
  document.body.append(dialog);
  return dialog;
}

/** Run a dialog made by dialogShell: resolves to collect()'s answer, or null when cancelled. */
function runDialog(dialog, { collect, focus }) {
  const form = dialog.querySelector("form");
  return new Promise((resolve) => {
    const finish = (value) => {
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(value);
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const answer = collect();
      if (answer) finish(answer);
    });
    form.querySelector("[data-action=cancel]").addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    openModal(dialog);
    focus.focus();
  });
}

/** What was done for the person's safety: resolves {safety_note, notes?} or null. */
export function safetyDialog({ notes = "" } = {}) {
  const boxes = SAFETY_STEPS.map(([key, words]) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "done", value: key, "data-words": words }), h("span", { text: ` ${words}` })),
  );
  const what = h("textarea", { id: "safety-what", rows: "3", maxlength: "4000", "aria-describedby": "safety-help" });
  const team = h("textarea", { id: "safety-team", rows: "2", maxlength: "4000" });
  team.value = notes || "";
  const error = h("p", { class: "form-error", role: "alert", id: "safety-error" });
  const dialog = dialogShell(
    "safety-dialog",
    "Before you close: what was done for their safety?",
    h("p", { text: "This conversation has a crisis alert that is not resolved. Say what was done, so the team knows the person was not left alone with it. The participant never sees this." }),
    h("fieldset", {}, h("legend", { text: "What was done (tick all that apply)" }), h("div", { class: "checks" }, boxes)),
    h("label", { for: "safety-what", text: "What happened (required)" }),
    what,
    h("p", { id: "safety-help", class: "muted small-print", text: "For example: shared the crisis line and they said they would call it tonight; their sister is with them." }),
    h("label", { for: "safety-team", text: "Other notes for the team (optional)" }),
    team,
    error,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "btn outline", "data-action": "cancel", text: "Cancel" }),
      h("button", { type: "submit", class: "btn primary", text: "Close conversation" }),
    ),
  );
  return runDialog(dialog, {
    focus: boxes[0].querySelector("input"),
    collect: () => {
      const done = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.dataset.words);
      const text = what.value.trim();
      if (!text) {
        error.textContent = "Say what happened before closing: a few words are enough.";
        what.setAttribute("aria-invalid", "true");
        what.focus();
        return null;
      }
      const safetyNote = `${done.length ? `Done: ${done.join("; ")}. ` : ""}${text}`;
      const teamNotes = team.value.trim();
      return teamNotes ? { safety_note: safetyNote, notes: teamNotes } : { safety_note: safetyNote };
    },
  });
}

/** Lower a room's risk on purpose: resolves {level, note} (the note required) or null. */
export function lowerRiskDialog(current) {
  const below = RISK_ORDER.slice(0, Math.max(0, RISK_ORDER.indexOf(current)));
  const select = h(
    "select",
    { id: "lower-level" },
    below
      .slice()
      .reverse()
      .map((level) => h("option", { value: level, text: RISK_WORDS[level] })),
  );
  const note = h("textarea", { id: "lower-note", rows: "3", maxlength: "4000", required: true });
  const error = h("p", { class: "form-error", role: "alert" });
  const dialog = dialogShell(
    "lower-risk-dialog",
    "Lower this conversation's risk?",
    h("p", { text: `Now: ${RISK_WORDS[current]}. It stays at the highest level reached until someone lowers it here; your name and note are recorded.` }),
    h("label", { for: "lower-level", text: "New level" }),
    select,
    h("label", { for: "lower-note", text: "Why is it lower now? (required)" }),
    note,
    error,
    h(
      "div",
      { class: "dialog-actions" },
      h("button", { type: "button", class: "btn outline", "data-action": "cancel", text: "Cancel" }),
      h("button", { type: "submit", class: "btn primary", text: "Lower risk" }),
    ),
  );
  return runDialog(dialog, {
    focus: select,
    collect: () => {
      const text = note.value.trim();
      if (!text) {
        error.textContent = "A note is required: say why the risk is lower now.";
        note.setAttribute("aria-invalid", "true");
        note.focus();
        return null;
      }
      return { level: select.value, note: text };
    },
  });
}
