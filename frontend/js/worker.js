// The peer worker's page (/worker): the live queue (most urgent first), claim, several
// conversations in tabs, risk and mood updates, hand over, close with notes.

import { Newest, friendlyMessage, sentence } from "./api.js";
import { sparkline } from "./charts.js";
import { $, announce, duration, h, since, store } from "./dom.js";
import { editProfile, profileSummary } from "./profile.js";
import { mountMyOutcomes } from "./my-outcomes.js";
import { mountGroupsAdmin } from "./groups-admin.js";
import { ReportList } from "./reports.js";
import { loadResources, topicName } from "./resources.js";
import { MoodHistory, RISK_WORDS, byUrgency, isNewerRisk, keepNewerRisks, riskBadge, riskLevel } from "./risk.js";
import { StaffRoom, closeWithNotes, staffHandles } from "./staff-room.js";
import { startStaffPage } from "./staff.js";
import { transferDialog } from "./transfer.js";
import { busy, toast } from "./ui.js";
import { Attention, askForNotificationsOnce, notify } from "./attention.js";

const tabsStore = store("session");
const TABS_KEY = "peerchat.worker.tabs";

const state = {
  session: null,
  api: null,
  socket: null,
  queue: [], // entries as GET /queue
  queueNews: new Newest(), // queue reads and queue_update frames: an older reply is not drawn
  rooms: new Map(), // roomId -> StaffRoom (open tabs)
  active: null, // roomId of the selected tab, or null for the queue (phones)
  unread: new Map(),
  moods: new MoodHistory(),
  queueTimer: 0,
  queueLoaded: false,
  maxRooms: null, // the cap: max_rooms in the answer to GET /queue
  profile: null,
  topics: [],
  reports: null,
  attention: null, // sound, the title's count, notifications
  seenWaiting: null, // room ids of waiting requests already announced (null before the first read)
  urgent: new Set(), // rooms of ours with crisis news not yet looked at
  helpAt: new Map(), // room id -> when its last help_requested frame came
};

startStaffPage({
  roles: ["peer_worker"],
  wrongRoleHint: (role) =>
    role === "supervisor" || role === "admin"
      ? "This page is for peer supporters. Supervisors use the supervisor page at /supervisor."
      : "This account can't use the peer supporter page.",
  onReady: ready,
});

function ready({ session, api, socket }) {
  Object.assign(state, { session, api, socket });
  state.attention = new Attention({
    key: "peerchat.worker.sound",
    button: $("#sound"),
    what: "new requests, new messages while this tab is hidden, and crisis in your conversations",
  });
  askForNotificationsOnce();
  // Names of colleagues, so a room can say who reviewed its risk.
  api
    .get("/staff")
    .then(({ staff = [] }) => {
      for (const person of staff) if (person.user_id && person.handle) staffHandles.set(person.user_id, person.handle);
      for (const room of state.rooms.values()) room.render();
    })
    .catch(() => {});
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") renderBadge();
  });
  $("#who").title = `Your user id (for hand-overs): ${session.user_id}`;
  socket.subscribe("queue");
  socket.addEventListener("queue_update", ({ detail }) => {
    state.queueNews.mark();
    setQueue(detail.rooms || []);
  });
  socket.addEventListener("room_risk", ({ detail }) => onRisk(detail));
  socket.addEventListener("ready", () => {
    // after a reconnect, catch up at once
    loadQueue();
    state.reports.load();
  });
  routeRoomEvents(socket);
  loadQueue();
  loadResources().then(renderQueue); // topic names, once known
  setupProfile();
  mountMyOutcomes({ api, socket, parent: $("#queue-pane") });
  mountGroupsAdmin({ api, parent: $("#queue-pane") });
  state.reports = new ReportList({
    api,
    list: $("#reports"),
    box: $("#reports-box"),
    onOpen: (report) => openTab(report.room_id).then(() => state.rooms.get(report.room_id)?.highlight(report.seq)),
  });
  socket.addEventListener("report", ({ detail }) => {
    if (state.reports.add(detail)) {
      toast("A participant reported a message in a conversation you moderate.");
      announce("A message was reported.");
    }
  });
  state.reports.load();
  // Waiting times tick even when nothing else changes.
  state.queueTimer = setInterval(renderQueue, 30000);
  for (const roomId of tabsStore.get(TABS_KEY) || []) openTab(roomId, { select: false });
  renderTabs();
}

// --- profile -----------------------------------------------------------------------------------

async function setupProfile() {
  const button = $("#profile-edit");
  button.addEventListener("click", () =>
    busy(button, async () => {
      if (!state.topics.length) state.topics = (await loadResources()).topics || [];
      if (!state.profile) {
        try {
          state.profile = await state.api.get("/me/profile");
        } catch (error) {
          toast(friendlyMessage(error), "error");
          return;
        }
      }
      const saved = await editProfile(state.api, state.profile, state.topics);
      if (!saved) return;
      state.profile = saved;
      renderProfile();
      toast("Profile saved. Matching requests are offered to you first.");
      loadQueue();
    }),
  );
  try {
    const [profile, resources] = await Promise.all([state.api.get("/me/profile"), loadResources()]);
    state.profile = profile;
    state.topics = resources.topics || [];
  } catch (error) {
    $("#profile-summary").textContent = friendlyMessage(error);
    return;
  }
  renderProfile();
}

function renderProfile() {
  $("#profile-summary").textContent = profileSummary(state.profile, state.topics);
}

function routeRoomEvents(socket) {
  const room = (detail) => state.rooms.get(detail.room_id);
  socket.addEventListener("message", ({ detail }) => room(detail)?.onMessage(detail));
  socket.addEventListener("ack", ({ detail }) => room(detail)?.onAck(detail));
  socket.addEventListener("send-failed", ({ detail }) => room(detail)?.onSendFailed(detail));
  socket.addEventListener("typing", ({ detail }) => room(detail)?.onTyping(detail.handle));
  socket.addEventListener("presence", ({ detail }) => room(detail)?.onPresence(detail.online || []));
  socket.addEventListener("room_closed", ({ detail }) => room(detail)?.refresh());
  socket.addEventListener("help_requested", ({ detail }) => onHelpRequested(detail));
  socket.addEventListener("note", ({ detail }) => room(detail)?.onNote(detail));
  socket.addEventListener("note_ack", ({ detail }) => room(detail)?.onNoteAck(detail));
  socket.addEventListener("error", ({ detail }) => {
    if (detail.code !== "rate_limited" && detail.room_id && state.rooms.has(detail.room_id)) {
      toast(detail.detail ? sentence(detail.detail) : "That didn't work.", "error");
    }
  });
}

// --- getting attention: new requests, crisis in our rooms, messages while away -----------------

/** What changed since the last queue read that a peer worker must hear about. */
function noticeNews(before) {
  const waiting = state.queue.filter((r) => r.status === "waiting");
  if (state.seenWaiting === null) {
    state.seenWaiting = new Set(waiting.map((r) => r.room_id)); // the first read is not news
  } else {
    const fresh = waiting.filter((r) => !state.seenWaiting.has(r.room_id));
    for (const r of fresh) state.seenWaiting.add(r.room_id);
    if (fresh.length) {
      const first = fresh[0];
      const words = fresh.length === 1 ? `New request: ${topicWords(first.topic)}` : `${fresh.length} new requests`;
      announce(words);
      state.attention.play(riskLevel(first.risk) === "crisis" ? 2 : 1);
      notify(words, first.preview ? `“${first.preview}”` : "Someone is waiting for support.", { tag: "queue", onClick: selectQueue });
    }
  }
  // A conversation of ours turning crisis (a crisis message, or the participant pressing
  // "I need help now", which lifts the room's level at once).
  const me = state.session.user_id;
  for (const r of state.queue) {
    if (r.assigned_to !== me || riskLevel(r.risk) !== "crisis") continue;
    const was = before.get(r.room_id);
    const room = state.rooms.get(r.room_id);
    if (was !== undefined && was !== "crisis" && room?.cueLevel !== "crisis") {
      if (room) room.cueLevel = "crisis";
      crisisSoon(r.room_id);
    }
  }
  renderBadge();
}

/** A room of ours turned crisis. A help press also sends help_requested, which says more:
 * give it a moment to arrive, so that one press is one cue. */
function crisisSoon(roomId) {
  const at = Date.now();
  setTimeout(() => {
    if ((state.helpAt.get(roomId) || 0) < at - 2000) crisisInRoom(roomId);
  }, 1500);
}

/** The participant pressed "I need help now" in a room this worker is in (help_requested). */
function onHelpRequested(frame) {
  const room = state.rooms.get(frame.room_id);
  if (!room) return;
  state.helpAt.set(frame.room_id, Date.now());
  room.cueLevel = "crisis";
  crisisInRoom(frame.room_id, { presses: Number(frame.help_requests) || 1 });
}

function crisisInRoom(roomId, { presses = 0 } = {}) {
  const room = state.rooms.get(roomId);
  const label = room ? room.label() : "one of your conversations";
  state.urgent.add(roomId);
  const words = presses
    ? `Crisis in your conversation (${label}): the participant pressed “I need help now”${presses > 1 ? ` (${presses} times)` : ""}. A supervisor has been alerted too.`
    : `Crisis in your conversation (${label}): the participant may need help now. A supervisor has been alerted too.`;
  toast(words, "error");
  announce(words);
  state.attention.play(3, { every: presses > 0 });
  notify("Crisis in your conversation", `${label}: the participant may need help now.`, {
    tag: `crisis-${roomId}`,
    onClick: () => selectTab(roomId),
  });
  renderBadge();
}

/** The tab's title: waiting requests and unread messages, "!" first while a crisis is unseen. */
function renderBadge() {
  if (!state.attention) return;
  const waiting = state.queue.filter((r) => r.status === "waiting").length;
  const unread = [...state.unread.values()].reduce((a, b) => a + b, 0);
  state.attention.setBadge(waiting + unread, { urgent: state.urgent.size > 0 });
}

// --- the queue ---------------------------------------------------------------------------------

async function loadQueue() {
  const mark = state.queueNews.mark();
  try {
    const { rooms = [], max_rooms: maxRooms } = await state.api.get("/queue");
    if (Number.isInteger(maxRooms)) state.maxRooms = maxRooms;
    if (state.queueNews.latest(mark)) setQueue(rooms);
  } catch (error) {
    $("#queue-summary").textContent = friendlyMessage(error);
  }
}

function setQueue(rooms) {
  // A peer worker's queue: requests waiting for anyone, and their own conversations.
  const me = state.session.user_id;
  const before = new Map(state.queue.map((r) => [r.room_id, riskLevel(r.risk)]));
  state.queue = keepNewerRisks(state.queue, rooms.filter((r) => r.status === "waiting" || r.assigned_to === me));
  for (const r of state.queue) state.rooms.get(r.room_id)?.onQueueEntry(r);
  noticeNews(before);
  for (const r of state.queue) state.moods.seed(r.room_id, r.sentiment);
  // Our own conversations open in tabs by themselves (after a reload, or a hand-over to us).
  for (const r of state.queue) {
    if (r.assigned_to === me && r.status === "active" && !state.rooms.has(r.room_id)) {
      openTab(r.room_id, { select: false });
      if (state.queueLoaded) toast("A conversation was handed over to you.");
    }
  }
  state.queueLoaded = true;
  renderQueue();
}

function onRisk(frame) {
  const entry = state.queue.find((r) => r.room_id === frame.room_id);
  const newer = isNewerRisk(frame.risk, entry?.risk?.version);
  if (entry) {
    if (newer) entry.risk = { ...(entry.risk || {}), ...frame.risk };
    if (frame.sentiment) entry.sentiment = { ...(entry.sentiment || {}), last: frame.sentiment.score };
  }
  const room = state.rooms.get(frame.room_id);
  if (room) room.onRisk(frame); // adds the mood point
  else if (frame.sentiment) state.moods.add(frame.room_id, frame.seq, frame.sentiment.score);
  if (!newer) {
    renderQueue(); // the mood point; the risk shown is newer than this frame's
    return;
  }
  const wasCrisis = (room?.cueLevel || "none") === "crisis";
  if (riskLevel(frame.risk) === "crisis") {
    announce("A conversation has been flagged as crisis.");
    if (room && !wasCrisis) crisisSoon(room.roomId);
  }
  if (room) room.cueLevel = riskLevel(frame.risk);
  renderQueue();
  renderTabs();
}

function renderQueue() {
  const list = $("#queue");
  const rooms = [...state.queue].sort(byUrgency);
  const waiting = rooms.filter((r) => r.status === "waiting");
  $("#queue-summary").textContent = waiting.length
    ? `${waiting.length} waiting · longest ${duration(Math.max(...waiting.map((r) => since(r.waiting_since) || 0)))}`
    : "Nobody is waiting right now.";
  renderLoad();
  if (!rooms.length) {
    list.replaceChildren(h("li", { class: "queue-empty muted", text: "The queue is clear. New requests appear here as they arrive." }));
    return;
  }
  list.replaceChildren(...rooms.map(queueItem));
  renderViewTabs();
  renderBadge();
}

/** Conversations this worker holds now (the cap counts active ones). */
function held() {
  const me = state.session.user_id;
  return state.queue.filter((r) => r.assigned_to === me && r.status === "active").length;
}

function atCapacity() {
  return Number.isInteger(state.maxRooms) && held() >= state.maxRooms;
}

// "2 of 3": how many conversations this worker holds against the cap, and at the cap, why
// Claim is held back.
function renderLoad() {
  const line = $("#queue-load");
  if (!Number.isInteger(state.maxRooms)) {
    line.hidden = true;
    return;
  }
  const count = held();
  line.hidden = false;
  line.dataset.full = atCapacity() ? "true" : "false";
  line.replaceChildren(
    h("strong", { text: `${count} of ${state.maxRooms}` }),
    ` conversations. `,
    atCapacity()
      ? "That's your limit: close or hand over one to claim another."
      : `You can claim ${state.maxRooms - count} more.`,
  );
}

function queueItem(entry) {
  const mine = entry.assigned_to === state.session.user_id;
  const level = riskLevel(entry.risk);
  const waited = since(entry.waiting_since);
  const meta = [];
  if (entry.status === "waiting" && Number.isFinite(waited)) meta.push(`waiting ${duration(waited)}`);
  if (mine) meta.push("yours");
  if (entry.channel === "sms") meta.push("by SMS: replies go out as texts");
  if (entry.language) meta.push(entry.language.toUpperCase());
  const match = describeMatch(entry.match);
  const good = Number(entry.match?.score) > 0 && entry.status === "waiting";
  const reasons = entry.risk?.reasons?.length ? `Why: ${entry.risk.reasons.join("; ")}` : "";
  const presses = Number(entry.alert?.help_requests) || 0;
  const help = presses
    ? h("p", {
        class: "qi-help",
        text: `Pressed “I need help now”${presses > 1 ? ` ${presses} times` : ""}${entry.alert.status === "open" ? ": no supervisor has acknowledged it yet" : ""}`,
      })
    : null;
  const action = mine
    ? h("button", { type: "button", class: "btn outline small", text: "Open", "aria-label": `Open your conversation: ${topicWords(entry.topic)}`, onclick: () => openTab(entry.room_id) })
    : h("button", {
        type: "button",
        class: "btn primary small",
        text: "Claim",
        "aria-label": `Claim: ${topicWords(entry.topic)}, risk ${RISK_WORDS[level].toLowerCase()}${good ? ", good match for you" : ""}`,
        disabled: atCapacity(),
        "aria-describedby": atCapacity() ? "queue-load" : null,
        title: atCapacity() ? "You're at your limit: close or hand over a conversation first." : null,
        onclick: (e) => busy(e.currentTarget, () => claim(entry.room_id)),
      });
  return h(
    "li",
    { class: "queue-item", dataset: { risk: level, roomId: entry.room_id } },
    h(
      "div",
      { class: "qi-main" },
      h(
        "p",
        { class: "qi-title" },
        riskBadge(entry.risk),
        h("strong", { text: topicWords(entry.topic) }),
        good ? h("span", { class: "match-badge", text: "Good match" }) : null,
      ),
      h("p", { class: "qi-meta muted", text: meta.join(" · ") }),
      entry.preview && entry.status === "waiting"
        ? h("p", { class: "qi-preview" }, h("span", { class: "muted", text: "They wrote: " }), h("q", { text: entry.preview }))
        : null,
      help,
      reasons ? h("p", { class: "qi-reasons", text: reasons }) : null,
      match ? h("p", { class: "qi-match", text: `Why you: ${match}` }) : null,
    ),
    h("div", { class: "qi-side" }, sparkline(state.moods.get(entry.room_id)), action),
  );
}

/** The queue entry's optional `match`: a string, a list, or {reasons|score|...}; shown as words. */
function describeMatch(match) {
  if (!match) return "";
  if (typeof match === "string") return match;
  if (Array.isArray(match)) return match.map(String).join(", ");
  if (typeof match === "object") {
    if (Array.isArray(match.reasons)) {
      // "topic: low-mood" reads as "topic: low mood"; language codes stay as they are.
      return match.reasons.map((r) => (/^speaks /.test(r) ? String(r) : String(r).replace(/-/g, " "))).join("; ");
    }
    return Object.entries(match)
      .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
      .map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`)
      .join(", ");
  }
  return String(match);
}

function topicWords(topic) {
  return topic ? topicName(topic) : "No topic given";
}

async function claim(roomId) {
  try {
    await state.api.post(`/rooms/${encodeURIComponent(roomId)}/claim`);
    await openTab(roomId);
    loadQueue();
  } catch (error) {
    toast(friendlyMessage(error), "error");
    if (error.status === 409) loadQueue();
  }
}

// --- tabs ----------------------------------------------------------------------------------------

async function openTab(roomId, { select = true } = {}) {
  if (!state.rooms.has(roomId)) {
    const room = new StaffRoom({
      roomId,
      api: state.api,
      socket: state.socket,
      session: state.session,
      moods: state.moods,
      actions: roomActions,
      onChange: () => renderTabs(),
      onIncoming: (r, message) => {
        if (state.active !== r.roomId || document.hidden) {
          state.unread.set(r.roomId, (state.unread.get(r.roomId) || 0) + 1);
          renderTabs();
        }
        if (document.hidden) {
          state.attention.play(1);
          notify(`New message: ${r.label()}`, message?.body ? String(message.body).slice(0, 140) : "A new message in your conversation.", {
            tag: `room-${r.roomId}`,
            onClick: () => selectTab(r.roomId),
          });
        }
        renderBadge();
      },
    });
    room.el.id = `panel-${roomId}`;
    room.el.setAttribute("role", "tabpanel");
    room.el.setAttribute("aria-labelledby", `tab-${roomId}`);
    room.el.hidden = true;
    state.rooms.set(roomId, room);
    $("#room-panels").append(room.el);
    saveTabs();
    await room.load();
    room.cueLevel = room.level; // what it already was is not news
    if (room.summary.assigned_to && room.summary.assigned_to !== state.session.user_id && room.summary.status !== "waiting") {
      // Handed over to someone else while we were away: nothing more to do here.
      closeTab(roomId);
      return;
    }
  }
  if (select || !state.active) selectTab(roomId);
  renderTabs();
}

function roomActions(room) {
  if (room.closed) {
    return [h("button", { type: "button", class: "btn outline small", text: "Close tab", onclick: () => closeTab(room.roomId) })];
  }
  return [
    h("button", {
      type: "button",
      class: "btn outline small",
      text: "Hand over",
      onclick: async () => {
        if (await transferDialog(state.api, room.roomId, { excludeUserId: state.session.user_id })) {
          toast("Conversation handed over.");
          closeTab(room.roomId);
          loadQueue();
        }
      },
    }),
    h("button", {
      type: "button",
      class: "btn outline small",
      text: "Close",
      onclick: (e) => busy(e.currentTarget, () => closeRoom(room)),
    }),
  ];
}

async function closeRoom(room) {
  if (await closeWithNotes(state.api, room)) {
    loadQueue();
  }
}

function closeTab(roomId) {
  const room = state.rooms.get(roomId);
  if (!room) return;
  room.destroy();
  state.rooms.delete(roomId);
  state.unread.delete(roomId);
  state.urgent.delete(roomId);
  saveTabs();
  if (state.active === roomId) {
    const next = [...state.rooms.keys()].pop() || null;
    if (next) selectTab(next);
    else selectQueue();
  }
  renderTabs();
}

function selectTab(roomId) {
  state.active = roomId;
  state.unread.delete(roomId);
  state.urgent.delete(roomId);
  for (const [id, room] of state.rooms) room.el.hidden = id !== roomId;
  $("#app").dataset.view = "room";
  renderTabs();
  const room = state.rooms.get(roomId);
  room?.chat.scrollToEnd(true);
}

function selectQueue() {
  $("#app").dataset.view = "queue";
  renderViewTabs();
}

function saveTabs() {
  tabsStore.set(TABS_KEY, [...state.rooms.keys()]);
}

function renderTabs() {
  const bar = $("#room-tabs");
  const ids = [...state.rooms.keys()];
  $("#no-rooms").hidden = ids.length > 0;
  bar.replaceChildren(
    ...ids.map((id) => {
      const room = state.rooms.get(id);
      const unread = state.unread.get(id) || 0;
      const selected = id === state.active;
      return h(
        "button",
        {
          type: "button",
          role: "tab",
          id: `tab-${id}`,
          class: "room-tab",
          "aria-selected": selected ? "true" : "false",
          "aria-controls": `panel-${id}`,
          tabindex: selected ? "0" : "-1",
          dataset: { risk: room.level, closed: room.closed ? "true" : "false" },
          onclick: () => selectTab(id),
          onkeydown: (e) => tabKeys(e, ids, id),
        },
        riskBadge(room.level, { compact: true }),
        h("span", { class: "tab-label", text: room.label() }),
        room.closed ? h("span", { class: "tab-note", text: "ended" }) : null,
        unread ? h("span", { class: "unread", text: String(unread), "aria-label": `${unread} new` }) : null,
      );
    }),
  );
  renderViewTabs();
  renderBadge();
}

// Arrow keys move between tabs (the ARIA tabs pattern); Home/End jump to the ends.
function tabKeys(event, ids, current) {
  const i = ids.indexOf(current);
  let next = null;
  if (event.key === "ArrowRight") next = ids[(i + 1) % ids.length];
  else if (event.key === "ArrowLeft") next = ids[(i - 1 + ids.length) % ids.length];
  else if (event.key === "Home") next = ids[0];
  else if (event.key === "End") next = ids[ids.length - 1];
  if (!next) return;
  event.preventDefault();
  selectTab(next);
  document.getElementById(`tab-${next}`)?.focus();
}

// Phones: one pane at a time, switched by "Queue" / "Conversations".
function renderViewTabs() {
  const bar = $("#view-tabs");
  const view = $("#app").dataset.view;
  const waiting = state.queue.filter((r) => r.status === "waiting").length;
  const unread = [...state.unread.values()].reduce((a, b) => a + b, 0);
  const make = (name, text, onclick) =>
    h("button", {
      type: "button",
      role: "tab",
      class: "view-tab",
      "aria-selected": view === name ? "true" : "false",
      text,
      onclick,
    });
  bar.replaceChildren(
    make("queue", `Queue${waiting ? ` (${waiting})` : ""}`, selectQueue),
    make("room", `Conversations${state.rooms.size ? ` (${state.rooms.size})` : ""}${unread ? " •" : ""}`, () => {
      const target = state.active && state.rooms.has(state.active) ? state.active : [...state.rooms.keys()][0];
      if (target) selectTab(target);
      else {
        $("#app").dataset.view = "room";
        renderViewTabs();
      }
    }),
  );
}
