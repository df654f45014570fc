// The participant's page (/): start anonymously, ask for one-to-one support or join a group,
// chat, ask for help now, see helplines, leave, delete my data. A reload resumes where it was.

import { Api, ApiError, Newest, fetchMessages, friendlyMessage, sentence } from "./api.js";
import { ChatView, bindComposer, limitCounter } from "./chat-view.js";
import { clientConfig } from "./config.js";
import { offerCheckin } from "./checkin.js";
import { $, $$, announce, clock, h, setTimeLocale, store } from "./dom.js";
import { bindSwitcher, initI18n, language, t } from "./i18n.js";
import { installQuickExit } from "./quick-exit.js";
import { loadResources, renderResources, supportResourceList, topicName } from "./resources.js";
import { ChatSocket, sessionOutbox } from "./socket.js";
import { bindConnectionBanner, busy, confirmDialog, notesDialog, openModal, toast } from "./ui.js";

// sessionStorage, not localStorage: on a shared phone or computer the session ends with the
// tab, leaving nothing behind for the next person, while a reload still resumes.
const storage = store("session");
const KEY = "peerchat.participant";
const OUTBOX_KEY = "peerchat.outbox";

const state = {
  session: storage.get(KEY), // {token, participant_id, handle, room_id?, help_at?}
  room: null, // GET /rooms/{id} summary
  chat: null,
  composer: null,
  socket: null,
  supporter: null, // handle of the peer supporter, once one has spoken or joined
  online: [],
  pollTimer: 0,
  roomReads: new Newest(), // refreshRoom calls: only the newest one's answer is used
  resources: null,
  waitingPanel: null,
  noteLimit: null, // the support note's countdown (limitCounter)
  helpPressed: false, // "I need help now" was confirmed in this page: no mood questions after it
  waitingPlace: null, // the last `waiting` frame for this room: {position, estimated_wait_seconds}
  support: null, // the last `support` frame for this room, drawn again on a change of language
};

const api = new Api({ getToken: () => state.session?.token, onUnauthorized: () => sessionEnded() });

function save() {
  if (state.session) storage.set(KEY, state.session);
  else storage.remove(KEY);
}

// --- screens ---------------------------------------------------------------------------------

function showScreen(name) {
  for (const section of $$("main > .screen")) section.hidden = section.id !== `screen-${name}`;
  const first = !document.body.dataset.screen;
  document.body.dataset.screen = name;
  // On a change of screen, move focus to its heading so screen readers announce where they
  // are; not on the first screen of a page load, where focus starts at the top as usual.
  const heading = $(`#screen-${name} h1`);
  if (heading && !first) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

async function init() {
  state.waitingPanel = $("#waiting-panel");
  bindStatic(); // first: the quick exit and the help button never wait for the translations
  await initI18n();
  setTimeLocale(language());
  bindSwitcher($("#language"));
  document.addEventListener("languagechange", onLanguageChange);
  state.resources = await loadResources(language());
  renderTopics(state.resources.topics);
  if (!state.session?.token) {
    showScreen("welcome");
    helpShortcut();
    return;
  }
  try {
    const me = await api.get("/me");
    state.session.handle = me.handle;
    save();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // sessionEnded() ran
    // Offline or server trouble: carry on with what we have; the socket will catch up.
  }
  if (state.session.room_id) await openRoom(state.session.room_id);
  else await showStart();
}

// A switch of language re-renders what scripts wrote: topics, the helplines, the conversation's
// head and the groups; the static text was already swapped by the i18n module.
async function onLanguageChange() {
  setTimeLocale(language());
  const checked = $("input[name=topic]:checked")?.value;
  state.resources = await loadResources(language());
  renderTopics(state.resources.topics, checked);
  if (state.room) renderHead();
  if (state.support) onSupport(state.support);
  else if (document.body.dataset.screen === "start") loadGroups();
  if ($("#resources-dialog").open) {
    renderResources($("#resources-list"), state.resources);
    $("#resources-title").textContent = $("#help-confirmation").hidden ? t("helplines") : t("help.on_the_way_title");
  }
  announce(t("language.changed"));
}

// The installed app's "I need help now" shortcut opens /?help=1: go straight to the question.
function helpShortcut() {
  const params = new URLSearchParams(location.search);
  if (!params.has("help")) return;
  history.replaceState(null, "", "/");
  helpNow();
}

function bindStatic() {
  installQuickExit($("#quick-exit"));
  $("#start").addEventListener("click", (e) => busy(e.currentTarget, startAnonymously));
  $("#support-form").addEventListener("submit", (e) => {
    e.preventDefault();
    busy($("#request-support"), requestSupport);
  });
  $("#help-now").addEventListener("click", (e) => busy(e.currentTarget, helpNow));
  $("#resources-open").addEventListener("click", () => openResources(false));
  $("#leave").addEventListener("click", (e) => busy(e.currentTarget, leaveRoom));
  $("#new-conversation").addEventListener("click", () => {
    forgetRoom();
    showStart();
  });
  for (const button of $$("[data-action=delete-data]")) {
    button.addEventListener("click", (e) => busy(e.currentTarget, deleteMyData));
  }
  const composerForm = $("#composer");
  state.composer = bindComposer(composerForm, {
    onSend: (body) => sendMessage(body),
    onTyping: () => state.room && state.socket?.typing(state.room.room_id),
    announce,
  });
  autoGrow(state.composer.input);
  state.noteLimit = limitCounter($("#support-note"), $("#support-note-count"), { announce });
  clientConfig().then((config) => {
    state.composer.setLimit(config.max_body_chars);
    state.noteLimit.setLimit(config.max_body_chars);
  });
}

function autoGrow(textarea) {
  textarea.addEventListener("input", () => {
    textarea.style.height = "auto";
    textarea.style.height = `${Math.min(textarea.scrollHeight, 160)}px`;
  });
}

function renderTopics(topics, checked) {
  const box = $("#topic-options");
  const keep = topics.some((topic) => topic.id === checked);
  box.replaceChildren(
    ...topics.map((topic, i) =>
      h(
        "label",
        { class: "chip" },
        h("input", { type: "radio", name: "topic", value: topic.id, checked: keep ? topic.id === checked : i === 0 }),
        h("span", { text: topic.label }),
      ),
    ),
  );
}

// --- starting ----------------------------------------------------------------------------------

async function startAnonymously() {
  try {
    const created = await api.post("/sessions/anonymous", { language: language() });
    state.session = { token: created.token, participant_id: created.participant_id, handle: created.handle };
    save();
    await showStart();
  } catch (error) {
    toast(friendlyMessage(error), "error");
  }
}

async function showStart() {
  $("#my-handle").textContent = state.session.handle || "";
  $("#support-error").textContent = "";
  showScreen("start");
  await loadGroups();
}

async function loadGroups() {
  const list = $("#group-list");
  try {
    const { groups = [] } = await api.get("/groups");
    if (!groups.length) {
      list.replaceChildren(h("li", { class: "muted", text: t("start.no_groups") }));
      return;
    }
    list.replaceChildren(
      ...groups.map((group) =>
        h(
          "li",
          { class: "group card" },
          h(
            "div",
            {},
            h("h3", { text: group.name }),
            h("p", {
              class: "muted",
              text: [
                topicName(group.topic),
                group.members === 1 ? t("start.group_people_one") : t("start.group_people", { count: group.members }),
                group.paused && t("start.group_paused"),
              ]
                .filter(Boolean)
                .join(" · "),
            }),
          ),
          h("button", {
            type: "button",
            class: "btn outline",
            text: t("start.join"),
            "aria-label": t("start.join_label", { name: group.name }),
            disabled: Boolean(group.paused),
            onclick: (e) => busy(e.currentTarget, () => joinGroup(group.room_id)),
          }),
        ),
      ),
    );
  } catch (error) {
    list.replaceChildren(h("li", { class: "muted", text: friendlyMessage(error) }));
  }
}

async function requestSupport() {
  const topic = $("input[name=topic]:checked")?.value;
  const note = $("#support-note").value.trim();
  $("#support-error").textContent = "";
  if (state.noteLimit?.over()) {
    $("#support-error").textContent = t("start.note_too_long");
    $("#support-note").focus();
    return;
  }
  try {
    const body = {};
    if (topic && topic !== "other") body.topic = topic;
    if (note) body.note = note;
    const created = await api.post("/support-requests", body);
    $("#support-note").value = "";
    state.noteLimit?.refresh();
    await openRoom(created.room_id);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409 && error.extra.room_id) {
      toast(t("start.already_open"));
      await openRoom(error.extra.room_id);
      return;
    }
    $("#support-error").textContent = friendlyMessage(error);
  }
}

async function joinGroup(roomId) {
  try {
    await api.post(`/groups/${encodeURIComponent(roomId)}/join`);
    await openRoom(roomId);
  } catch (error) {
    toast(friendlyMessage(error), "error");
  }
}

// --- the conversation ----------------------------------------------------------------------------

async function openRoom(roomId) {
  let summary;
  try {
    summary = await api.get(`/rooms/${encodeURIComponent(roomId)}`);
  } catch (error) {
    if (error instanceof ApiError && [403, 404].includes(error.status)) {
      forgetRoom();
      await showStart();
      return;
    }
    if (error instanceof ApiError && error.status === 401) return;
    summary = { room_id: roomId, kind: "one_to_one", status: "waiting", name: null, topic: null };
  }
  state.room = summary;
  state.session.room_id = roomId;
  save();
  state.supporter = null;
  state.online = [];
  state.waitingPlace = null;
  state.support = null;

  const root = $("#chat-log");
  root.replaceChildren();
  state.chat = new ChatView(root, {
    me: () => state.session?.participant_id,
    label: summary.kind === "group" ? t("chat.group_messages", { name: summary.name || t("chat.the_group") }) : t("chat.messages"),
    messageActions: summary.kind === "group" ? messageMenu : null,
  });
  showScreen("chat");
  renderHead();

  const socket = ensureSocket();
  try {
    const history = await fetchMessages(api, roomId, 0);
    for (const message of socket.absorb(roomId, history)) onMessage(message);
  } catch {
    /* the socket's replay brings them */
  }
  for (const entry of socket.pending(roomId)) state.chat.addPending(entry, state.session.handle);
  socket.join(roomId, state.chat.lastSeq());
  state.chat.scrollToEnd(true);
  schedulePoll();
}

function ensureSocket() {
  if (state.socket) return state.socket;
  const socket = new ChatSocket({
    getToken: () => state.session?.token,
    fetchAfter: (roomId, afterSeq) => fetchMessages(api, roomId, afterSeq),
    outboxStore: sessionOutbox(OUTBOX_KEY),
  });
  socket.addEventListener("message", ({ detail }) => {
    if (detail.room_id === state.room?.room_id) onMessage(detail);
  });
  socket.addEventListener("ack", ({ detail }) => {
    if (detail.room_id === state.room?.room_id) state.chat.ack(detail, state.session.handle);
  });
  socket.addEventListener("send-failed", ({ detail }) => {
    if (detail.room_id === state.room?.room_id) state.chat.fail(detail, sentence(detail.detail || "") || t("chat.send_failed"));
  });
  socket.addEventListener("typing", ({ detail }) => {
    if (detail.room_id === state.room?.room_id && detail.handle !== state.session.handle) {
      state.chat.showTyping(detail.handle);
    }
  });
  socket.addEventListener("presence", ({ detail }) => {
    if (detail.room_id !== state.room?.room_id) return;
    state.online = (detail.online || []).filter((handle) => handle !== state.session.handle);
    renderHead();
  });
  socket.addEventListener("joined", ({ detail }) => {
    if (detail.room_id === state.room?.room_id) refreshRoom();
  });
  socket.addEventListener("room_closed", ({ detail }) => {
    if (detail.room_id === state.room?.room_id) refreshRoom();
  });
  socket.addEventListener("support", ({ detail }) => {
    if (detail.room_id === state.room?.room_id) onSupport(detail);
  });
  socket.addEventListener("waiting", ({ detail }) => {
    if (detail.room_id !== state.room?.room_id) return;
    state.waitingPlace = detail;
    renderQueuePlace();
  });
  socket.addEventListener("unauthorized", () => sessionEnded());
  bindConnectionBanner($("#connection"), socket, {
    connecting: t("connection.connecting"),
    waiting: t("connection.waiting"),
    offline: t("connection.offline"),
    unauthorized: t("connection.unauthorized"),
    ready: t("connection.ready"),
  });
  state.socket = socket;
  window.__peerchat = { socket, api };
  socket.start();
  return socket;
}

function onMessage(message) {
  if (!state.chat.addMessage(message)) return;
  const role = message.sender?.role;
  if (role === "peer_worker" || role === "supervisor" || role === "admin") {
    state.supporter = message.sender.handle;
  }
  if (role === "system") {
    // "X, a peer supporter, has joined.", a hand-over, or the end: the room changed.
    const joined = /^(.+), a peer supporter, has joined\.$/.exec(message.body || "");
    if (joined) state.supporter = joined[1];
    refreshRoom();
  }
  renderHead();
}

async function refreshRoom() {
  if (!state.room) return;
  // Only the newest read counts: an older one answering late (a busy server) would put back a
  // status the room has left, e.g. "waiting" after a supporter joined.
  const read = state.roomReads.mark();
  try {
    const summary = await api.get(`/rooms/${encodeURIComponent(state.room.room_id)}`);
    if (!state.roomReads.latest(read) || summary.room_id !== state.room?.room_id) return;
    const was = state.room.status;
    state.room = summary;
    if (was === "waiting" && summary.status === "active") {
      announce(t("chat.supporter_joined"));
    }
    renderHead();
    schedulePoll();
  } catch {
    /* keep what we show; the next event tries again */
  }
}

// While waiting, look now and then even without the socket, so the screen never goes stale.
function schedulePoll() {
  clearTimeout(state.pollTimer);
  if (state.room?.status === "waiting") state.pollTimer = setTimeout(refreshRoom, 15000);
}

function renderHead() {
  const room = state.room;
  if (!room) return;
  const group = room.kind === "group";
  const waiting = room.status === "waiting";
  const closed = room.status === "closed";
  $("#chat-title").textContent = group ? room.name || t("chat.group") : t("chat.title");
  let status;
  if (closed) status = t("chat.status_ended");
  else if (group) {
    status = state.online.length ? t("chat.status_here_now", { names: state.online.join(", ") }) : t("chat.status_group");
  } else if (waiting) status = t("chat.status_waiting");
  else if (state.supporter) {
    const here = state.online.includes(state.supporter);
    status = t(here ? "chat.status_with_here" : "chat.status_with", { name: state.supporter });
  } else status = t("chat.status_supporter");
  $("#chat-status").textContent = status;

  // Kept by reference: the panel moves into each conversation's log while it waits, and is
  // taken out of the document with it when that conversation is replaced.
  const panel = (state.waitingPanel ||= $("#waiting-panel"));
  if (waiting && !closed && state.chat) {
    panel.hidden = false;
    state.chat.setIntro(panel);
  } else {
    panel.hidden = true;
  }
  $("#ended").hidden = !closed;
  $("#composer").hidden = closed;
  // Ended: the page scrolls as a whole, so the conversation stays readable above the end card
  // (in a fixed-height screen the card and its helplines would squeeze it to a sliver).
  document.body.classList.toggle("conversation-ended", closed);
  if (closed) renderResources($("#ended-resources"), state.resources || { emergency: { numbers: [] }, helplines: [] });
  renderQueuePlace();
  const helpAt = state.session?.help_at?.[room.room_id];
  offerCheckin(api, room, { helped: Boolean(helpAt) || state.helpPressed });
  const leave = $("#leave");
  leave.hidden = closed;
  leave.textContent = group ? t("chat.leave_group") : waiting ? t("chat.cancel_request") : t("chat.end_chat");
  state.composer.setEnabled(!closed, closed ? t("chat.status_ended") : "");
  const banner = $("#help-banner");
  banner.hidden = !helpAt || closed;
  if (helpAt) {
    banner.textContent = t("chat.help_banner", { time: clock(helpAt) });
  }
}

// --- support and the place in the queue ------------------------------------------------------

/**
 * The service's words of support after a crisis message or a help request: drawn inside the
 * conversation, after what the person wrote (never over it), with the crisis lines to tap.
 */
function onSupport(frame) {
  state.support = frame;
  const local = state.resources?.helplines || [];
  const lines = supportResourceList(frame.resources?.length ? frame.resources : local);
  const card = h(
    "li",
    { class: "support-card" },
    h("p", { class: "support-title", text: t("support.title") }),
    frame.message ? h("p", { class: "support-message", text: frame.message }) : null,
    lines ? h("p", { class: "support-lead", text: t("support.lines") }) : null,
    lines,
    h(
      "p",
      { class: "support-foot" },
      h("span", { text: `${t("support.stay")} ` }),
      h("button", { type: "button", class: "btn ghost small", text: t("support.more"), onclick: () => openResources(false) }),
    ),
  );
  state.chat.addAside(card, "support");
  announce(`${t("support.title")} ${frame.message || ""}`);
}

/** "You're next" or "2 people ahead of you", and about how long: calm words, updated live. */
function renderQueuePlace() {
  const line = $("#queue-place");
  if (!line) return;
  const place = state.waitingPlace;
  const show = Boolean(place) && state.room?.status === "waiting" && Number.isInteger(place.position) && place.position > 0;
  line.hidden = !show;
  if (!show) return;
  const ahead = place.position - 1;
  const where = ahead === 0 ? t("waiting.next") : ahead === 1 ? t("waiting.ahead_one") : t("waiting.ahead", { count: ahead });
  const seconds = place.estimated_wait_seconds;
  let when;
  if (!Number.isFinite(seconds)) when = t("waiting.estimate_unknown");
  else if (seconds < 90) when = t("waiting.estimate_soon");
  else when = t("waiting.estimate", { minutes: Math.round(seconds / 60) });
  const text = `${where} ${when}`;
  if (line.textContent !== text) line.textContent = text;
  line.dataset.position = String(place.position);
}

function sendMessage(body) {
  if (!state.room || !state.socket) return;
  const id = state.socket.send(state.room.room_id, body);
  const entry = state.socket.outbox.get(id);
  if (entry) state.chat.addPending(entry, state.session.handle);
}

// --- help ------------------------------------------------------------------------------------

async function openResources(helpConfirmed) {
  const dialog = $("#resources-dialog");
  renderResources($("#resources-list"), state.resources || (await loadResources(language())));
  const confirmation = $("#help-confirmation");
  confirmation.hidden = !helpConfirmed;
  if (helpConfirmed) {
    confirmation.textContent = t("help.confirmation");
  }
  $("#resources-title").textContent = helpConfirmed ? t("help.on_the_way_title") : t("helplines");
  openModal(dialog);
}

async function helpNow() {
  const inRoom = state.room && state.room.status !== "closed" && state.session?.room_id;
  const ok = await confirmDialog({
    title: t("help.question"),
    body: [inRoom ? t("help.body_in_room") : t("help.body_new"), t("help.body_danger")],
    confirm: t("help.confirm"),
    cancel: t("help.not_now"),
    danger: true,
    focusConfirm: true,
  });
  if (!ok) {
    return;
  }
  state.helpPressed = true;
  try {
    if (!state.session?.token) {
      const created = await api.post("/sessions/anonymous", { language: language() });
      state.session = { token: created.token, participant_id: created.participant_id, handle: created.handle };
      save();
    }
    let roomId = inRoom ? state.room.room_id : null;
    if (!roomId) {
      try {
        roomId = (await api.post("/support-requests", { topic: "urgent" })).room_id;
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409 && error.extra.room_id)) throw error;
        roomId = error.extra.room_id;
      }
      await openRoom(roomId);
    }
    await api.post(`/rooms/${encodeURIComponent(roomId)}/help`);
    state.session.help_at = { ...(state.session.help_at || {}), [roomId]: new Date().toISOString() };
    save();
    renderHead();
    announce(t("help.announce"));
    await openResources(true);
  } catch (error) {
    // Whatever failed, the helplines are the next best thing: show them with the error.
    toast(t("help.failed", { reason: friendlyMessage(error) }), "error");
    await openResources(false);
  }
}

// --- leaving and data -------------------------------------------------------------------------

async function leaveRoom() {
  const room = state.room;
  if (!room) return;
  const group = room.kind === "group";
  const waiting = room.status === "waiting";
  let question;
  if (group) {
    question = {
      title: t("leave.group_title"),
      body: t("leave.group_body"),
      confirm: t("chat.leave_group"),
      cancel: t("leave.stay"),
    };
  } else if (waiting) {
    question = {
      title: t("leave.cancel_title"),
      body: [t("leave.cancel_body1"), t("leave.cancel_body2")],
      confirm: t("chat.cancel_request"),
      cancel: t("leave.keep_waiting"),
    };
  } else {
    question = {
      title: t("leave.end_title"),
      body: [t("leave.end_body1", { name: state.supporter || t("leave.your_supporter") }), t("leave.end_body2")],
      confirm: t("leave.end_confirm"),
      cancel: t("leave.stay"),
    };
  }
  if (!(await confirmDialog(question))) return;
  try {
    await api.post(`/rooms/${encodeURIComponent(room.room_id)}/leave`);
  } catch (error) {
    // Already closed or no longer ours: there's nothing left to leave.
    if (!(error instanceof ApiError && [403, 404, 409].includes(error.status))) {
      toast(friendlyMessage(error), "error");
      return;
    }
  }
  state.socket?.leave(room.room_id);
  forgetRoom();
  await showStart();
  announce(group ? t("leave.left_group") : waiting ? t("leave.cancelled") : t("leave.ended"));
  toast(group ? t("leave.left_group") : waiting ? t("leave.cancelled_toast") : t("leave.ended_toast"));
}

// --- group safety: report a message, block a person ---------------------------------------------

function messageMenu(message) {
  if (message.sender?.role !== "participant" || !message.sender.id) return null;
  const who = message.sender.handle || t("menu.this_person");
  const close = (el) => el.closest("details")?.removeAttribute("open");
  return h(
    "details",
    { class: "msg-menu" },
    h("summary", { "aria-label": t("menu.options_for", { name: who }), title: t("menu.options") }, h("span", { "aria-hidden": "true", text: "⋯" })),
    h(
      "div",
      { class: "msg-menu-items" },
      h("button", {
        type: "button",
        class: "btn ghost small",
        text: t("menu.report"),
        onclick: (e) => {
          close(e.currentTarget);
          busy(e.currentTarget, () => reportMessage(message));
        },
      }),
      h("button", {
        type: "button",
        class: "btn ghost small",
        text: t("menu.block"),
        onclick: (e) => {
          close(e.currentTarget);
          busy(e.currentTarget, () => blockSender(message));
        },
      }),
    ),
  );
}

async function reportMessage(message) {
  const reason = await notesDialog({
    title: t("report.title"),
    label: t("report.label"),
    confirm: t("report.confirm"),
  });
  if (reason === null) return;
  try {
    const room = encodeURIComponent(message.room_id || state.room.room_id);
    await api.post(`/rooms/${room}/messages/${message.seq}/report`, reason ? { reason } : {});
    toast(t("report.thanks"));
  } catch (error) {
    toast(friendlyMessage(error), "error");
  }
}

async function blockSender(message) {
  const who = message.sender.handle || t("menu.this_person");
  const ok = await confirmDialog({
    title: t("block.title", { name: who }),
    body: [t("block.body1", { name: who }), t("block.body2")],
    confirm: t("block.confirm"),
    cancel: t("cancel"),
  });
  if (!ok) return;
  try {
    await api.post(`/rooms/${encodeURIComponent(state.room.room_id)}/block`, { participant_id: message.sender.id });
    state.chat.removeFrom(message.sender.id);
    toast(t("block.done", { name: who }));
  } catch (error) {
    toast(friendlyMessage(error), "error");
  }
}

function forgetRoom() {
  clearTimeout(state.pollTimer);
  state.room = null;
  if (state.session) {
    delete state.session.room_id;
    save();
  }
}

async function deleteMyData() {
  const ok = await confirmDialog({
    title: t("delete.title"),
    body: [t("delete.body1"), t("delete.body2")],
    confirm: t("delete.button"),
    cancel: t("delete.keep"),
    danger: true,
  });
  if (!ok) return;
  try {
    if (state.session?.token) await api.delete("/me");
    wipeDevice();
    toast(t("delete.done"));
  } catch (error) {
    if (error instanceof ApiError && [404, 405, 501].includes(error.status)) {
      const forget = await confirmDialog({
        title: t("delete.unavailable_title"),
        body: [t("delete.unavailable_body1"), t("delete.unavailable_body2")],
        confirm: t("delete.forget"),
        cancel: t("close"),
      });
      if (forget) {
        wipeDevice();
        toast(t("delete.forgotten"));
      }
      return;
    }
    toast(friendlyMessage(error), "error");
  }
}

function wipeDevice() {
  state.socket?.stop();
  state.socket = null;
  clearTimeout(state.pollTimer);
  state.session = null;
  state.room = null;
  storage.remove(KEY);
  storage.remove(OUTBOX_KEY);
  showScreen("welcome");
}

function sessionEnded() {
  // The anonymous token expired or was revoked: start over, kindly.
  state.socket?.stop();
  state.socket = null;
  state.session = null;
  state.room = null;
  storage.remove(KEY);
  showScreen("welcome");
  toast(t("session.ended"));
}

init().then(() => {
  if (state.session?.token) helpShortcut();
});
