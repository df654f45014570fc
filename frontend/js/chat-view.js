// A conversation on screen: the message log, "sending" bubbles, typing and presence, and the
// composer. Shared by all three pages; the page decides what a message means, this draws it.

import { clock, h } from "./dom.js";
import { t } from "./i18n.js";

const ROLE_LABEL = {
  peer_worker: "peer supporter",
  supervisor: "supervisor",
  admin: "supervisor",
  participant: "",
  system: "",
};

export class ChatView {
  /**
   * @param {HTMLElement} root  an element to fill
   * @param {object} options
   * @param {() => string|null} options.me  the viewer's own id
   * @param {boolean} [options.staff]  show roles of everyone (staff views)
   * @param {string} [options.label]  accessible name of the log
   * @param {(message: object) => Node|null} [options.messageActions]  a menu for others' messages
   */
  constructor(root, { me, staff = false, label = "Messages", messageActions = null }) {
    this.me = me;
    this.staff = staff;
    this.messageActions = messageActions; // (message) => Node|null: a per-message menu
    this.root = root;
    root.classList.add("chat");
    this.intro = h("div", { class: "chat-intro" });
    // The log role sits on a wrapper, not on the list: a list keeps its list semantics (each
    // message an item of N), and role="log" is not allowed on <ol>.
    this.log = h("ol", { class: "messages" });
    this.logRegion = h(
      "div",
      {
        class: "messages-log",
        role: "log",
        "aria-live": "polite",
        "aria-relevant": "additions",
        "aria-label": label,
        tabindex: "0",
      },
      this.log,
    );
    this.scroller = h("div", { class: "messages-scroll" }, this.intro, this.logRegion);
    this.typingLine = h("p", { class: "typing", "aria-live": "off" });
    this.presenceLine = h("p", { class: "presence" });
    root.append(this.presenceLine, this.scroller, this.typingLine);
    this.bySeq = new Map();
    this.pendingById = new Map();
    this.typingTimer = 0;
  }

  nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  scrollToEnd(force = false) {
    if (force || this.nearBottom()) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  setIntro(...nodes) {
    this.intro.replaceChildren(...nodes);
  }

  /** Add a stored message; a second copy of the same seq is ignored. */
  addMessage(message) {
    if (typeof message.seq !== "number" || this.bySeq.has(message.seq)) return false;
    const follow = this.nearBottom();
    const pending = message.client_msg_id && this.pendingById.get(message.client_msg_id);
    if (pending) {
      pending.remove();
      this.pendingById.delete(message.client_msg_id);
    }
    const el = this.bubble(message);
    this.bySeq.set(message.seq, el);
    // Insert in seq order: a gap filled late lands where it belongs.
    let before = null;
    for (const item of this.log.children) {
      const seq = Number(item.dataset.seq);
      if (item.dataset.seq && seq > message.seq) {
        before = item;
        break;
      }
      if (item.dataset.after && Number(item.dataset.after) >= message.seq) {
        before = item; // a note placed after an earlier message stays after it
        break;
      }
      if (!item.dataset.seq && !item.dataset.after) {
        before = item; // pending bubbles stay last
        break;
      }
    }
    this.log.insertBefore(el, before);
    if (follow || this.isMine(message)) this.scrollToEnd(true);
    if (!this.isMine(message) && message.sender?.role !== "system") this.hideTyping();
    return true;
  }

  /**
   * Put something that is not a message (a note of support) in the conversation, after the
   * messages shown so far; one per `key`, so a second one replaces the first at the end.
   */
  addAside(el, key) {
    for (const old of this.log.querySelectorAll(`[data-aside="${key}"]`)) old.remove();
    el.dataset.aside = key;
    el.dataset.after = String(this.lastSeq());
    const firstPending = [...this.log.children].find((item) => !item.dataset.seq && !item.dataset.after);
    this.log.insertBefore(el, firstPending || null);
    this.scrollToEnd(true);
    return el;
  }

  /** Show a message we sent that has no ack yet. */
  addPending(entry, handle) {
    if (this.pendingById.has(entry.client_msg_id)) return;
    const el = this.bubble(
      {
        client_msg_id: entry.client_msg_id,
        sender: { id: this.me(), handle, role: "" },
        body: entry.body,
        sent_at: entry.queued_at,
      },
      "pending",
    );
    this.pendingById.set(entry.client_msg_id, el);
    this.log.append(el);
    this.scrollToEnd(true);
  }

  /** The server stored our message: the bubble gets its seq and loses "sending". */
  ack({ client_msg_id: id, seq, message_id: messageId, body }, handle) {
    const el = this.pendingById.get(id);
    this.pendingById.delete(id);
    if (this.bySeq.has(seq)) {
      el?.remove(); // already shown (e.g. read from history)
      return;
    }
    if (el) el.remove();
    this.addMessage({
      seq,
      message_id: messageId,
      client_msg_id: id,
      sender: { id: this.me(), handle, role: "" },
      body: body ?? el?.querySelector(".body")?.textContent ?? "",
      sent_at: new Date().toISOString(),
    });
  }

  fail(entry, reason) {
    const el = this.pendingById.get(entry.client_msg_id);
    if (!el) return;
    el.classList.add("failed");
    el.querySelector(".status").textContent = t("chat.not_sent", { reason }, "Not sent: {reason}");
  }

  isMine(message) {
    return Boolean(message.sender && message.sender.id && message.sender.id === this.me());
  }

  bubble(message, state = "sent") {
    const role = message.sender?.role || "";
    if (role === "system") {
      return h(
        "li",
        { class: "msg system", dataset: { seq: String(message.seq) } },
        h("p", { class: "body", text: message.body }),
      );
    }
    const mine = this.isMine(message);
    const who = mine ? t("chat.you", {}, "You") : message.sender?.handle || t("chat.someone", {}, "Someone");
    const roleLabel = ROLE_LABEL[role] ?? role.replace("_", " ");
    const dataset = message.seq ? { seq: String(message.seq) } : {};
    if (message.client_msg_id) dataset.clientMsgId = message.client_msg_id;
    if (message.sender?.id && !mine) dataset.senderId = message.sender.id;
    // Only "sending" is worth saying; a quiet log reads calmer than "Sent" under every line.
    const status = state === "pending" ? t("chat.sending", {}, "Sending…") : "";
    return h(
      "li",
      { class: `msg ${mine ? "mine" : "theirs"} ${state}`, dataset },
      h(
        "p",
        { class: "meta" },
        h("span", { class: "who", text: who }),
        roleLabel && !mine ? h("span", { class: "role", text: roleLabel }) : null,
        h("time", { datetime: message.sent_at || "", text: clock(message.sent_at) }),
      ),
      h("p", { class: "body", text: message.body }),
      mine ? h("p", { class: "status", text: status }) : null,
      !mine && message.seq && this.messageActions ? this.messageActions(message) : null,
    );
  }

  /** Take a sender's messages off the screen (the viewer blocked them). */
  removeFrom(senderId) {
    for (const item of [...this.log.querySelectorAll(`.msg[data-sender-id]`)]) {
      if (item.dataset.senderId === senderId) item.remove();
    }
  }

  showTyping(handle) {
    this.typingLine.textContent = `${handle} is typing…`;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.hideTyping(), 4000);
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    this.typingLine.textContent = "";
  }

  setPresence(text) {
    this.presenceLine.textContent = text;
  }

  count() {
    return this.bySeq.size;
  }

  lastSeq() {
    let max = 0;
    for (const seq of this.bySeq.keys()) max = Math.max(max, seq);
    return max;
  }
}

const numberFormat = new Intl.NumberFormat();

/** Length as the server counts it: characters (code points), not UTF-16 units. */
export function charCount(text) {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

/**
 * A countdown under a text box near its limit, and a clear sentence once past it, instead of
 * the browser's silent cut (maxlength) that loses the end of a long message without a word.
 * Returns {over(), setLimit(n), refresh()}. Screen readers hear the two changes that matter
 * (nearing the limit, passing it), not every keystroke.
 */
export function limitCounter(input, counter, { limit = 4000, announce = () => {}, onChange = () => {} } = {}) {
  let max = limit;
  let zone = "ok";
  input.removeAttribute("maxlength");
  counter.id ||= `${input.id || "text"}-count`;
  const describedBy = new Set((input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  describedBy.add(counter.id);
  input.setAttribute("aria-describedby", [...describedBy].join(" "));
  const refresh = () => {
    const used = charCount(input.value.trim());
    const left = max - used;
    const near = Math.max(50, Math.round(max * 0.1));
    const next = left < 0 ? "over" : left <= near ? "near" : "ok";
    if (next === "over") {
      const vars = { over: numberFormat.format(-left), limit: numberFormat.format(max) };
      counter.textContent =
        -left === 1
          ? t("limit.over_one", vars, "Too long to send: 1 character over the {limit} limit. Shorten it, or send it in two parts.")
          : t("limit.over", vars, "Too long to send: {over} characters over the {limit} limit. Shorten it, or send it in two parts.");
    } else if (next === "near") {
      counter.textContent =
        left === 1 ? t("limit.left_one", {}, "1 character left") : t("limit.left", { left: numberFormat.format(left) }, "{left} characters left");
    } else counter.textContent = "";
    counter.dataset.zone = next;
    if (next === "over") input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    if (next !== zone && next !== "ok") announce(counter.textContent);
    zone = next;
    onChange(next === "over");
  };
  input.addEventListener("input", refresh);
  return {
    over: () => zone === "over",
    setLimit(n) {
      if (Number.isInteger(n) && n > 0) max = n;
      refresh();
    },
    refresh,
  };
}

/**
 * Wire a composer form: Enter sends, Shift+Enter adds a line, typing is reported (throttled by
 * the socket), a countdown near the length limit (never a silent cut). Returns
 * {input, setEnabled(bool, reason?), setLimit(n)}.
 */
export function bindComposer(form, { onSend, onTyping = () => {}, maxChars = 4000, announce = () => {} }) {
  const input = form.querySelector("textarea");
  const button = form.querySelector("button[type=submit]");
  const hint = form.querySelector(".composer-hint");
  let counter = form.querySelector(".composer-count");
  if (!counter) {
    counter = h("p", { class: "composer-count" });
    form.append(counter);
  }
  let enabled = true;
  const limits = limitCounter(input, counter, {
    limit: maxChars,
    announce,
    onChange: (over) => {
      button.disabled = !enabled || over;
    },
  });
  const submit = () => {
    const body = input.value.trim();
    if (!body || input.disabled) return;
    if (limits.over()) {
      announce(counter.textContent);
      return; // the counter says why; nothing is cut or lost
    }
    onSend(body);
    input.value = "";
    input.style.height = ""; // back to one line after a long message
    limits.refresh();
    input.focus();
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  input.addEventListener("input", () => {
    if (input.value.trim()) onTyping();
  });
  return {
    input,
    setEnabled(on, reason = "") {
      enabled = on;
      input.disabled = !on;
      button.disabled = !on || limits.over();
      if (hint) hint.textContent = reason;
    },
    setLimit: (n) => limits.setLimit(n),
  };
}
