// The supervisor's page (/supervisor): live alerts (updated in place by alert_id, re-sent ones
// included) with a visual and optional sound cue; acknowledge and resolve; watch any room
// silently or join it; reported messages; and a dashboard of the service now (GET /dashboard,
// refreshed on queue and alert news and every 15 s, with the open rooms from /queue).

import { friendlyMessage, sentence } from "./api.js";
import { barChart, stackedBar } from "./charts.js";
import { mountCannedAdmin } from "./canned.js";
import { mountGroupsAdmin } from "./groups-admin.js";
import { mountProgramme } from "./insights.js";
import { loadResources, topicName } from "./resources.js";
import { $, $$, announce, clock, duration, h, shortId, since, store } from "./dom.js";
import { MoodHistory, RISK_WORDS, byUrgency, riskBadge, riskLevel } from "./risk.js";
import { ReportList } from "./reports.js";
import { StaffRoom, closeWithNotes } from "./staff-room.js";
import { startStaffPage } from "./staff.js";
import { transferDialog } from "./transfer.js";
import { busy, confirmDialog, notesDialog, toast } from "./ui.js";

const prefs = store("local"); // only the sound preference; nothing about people
const SEVERITY_WORDS = { crisis: "Crisis", warning: "Warning" };
const STATUS_WORDS = { open: "Open", acknowledged: "Acknowledged", resolved: "Resolved" };

const state = {
  session: null,
  api: null,
  socket: null,
  alerts: new Map(), // alert_id -> alert (+ resent_count, seen_at)
  filter: "active",
  queue: [],
  handles: new Map(), // user id -> handle, from GET /staff and the dashboard
  dash: null, // the last GET /dashboard
  dashTimer: 0,
  reports: null,
  moods: new MoodHistory(),
  viewer: null, // StaffRoom
  sound: prefs.get("peerchat.supervisor.sound") === true,
  audio: null,
  title: document.title,
};

startStaffPage({
  roles: ["supervisor", "admin"],
  wrongRoleHint: (role) =>
    role === "peer_worker"
      ? "This page is for supervisors. Peer supporters use the page at /worker."
      : "This account can't use the supervisor page.",
  onReady: ready,
});

function ready({ session, api, socket }) {
  Object.assign(state, { session, api, socket });
  bindSound();
  for (const button of $$("#alert-filter button")) {
    button.addEventListener("click", () => {
      state.filter = button.dataset.status;
      for (const b of $$("#alert-filter button")) b.setAttribute("aria-pressed", String(b === button));
      renderAlerts();
    });
  }
  $("#viewer-back").addEventListener("click", () => closeViewer());
  mountProgramme({ api, parent: $("#dashboard") });
  mountCannedAdmin({ api, parent: $("#dashboard") });
  mountGroupsAdmin({ api, parent: $("#dashboard") });
  loadResources(); // topic names for the dashboard, from its next refresh

  socket.subscribe("alerts");
  socket.subscribe("queue");
  state.reports = new ReportList({
    api,
    list: $("#reports"),
    box: $("#reports-box"),
    onOpen: (report) => openViewer(report.room_id, { highlightSeq: report.seq }),
  });
  socket.addEventListener("alert", ({ detail }) => {
    onAlertFrame(detail);
    scheduleDashboard();
  });
  socket.addEventListener("queue_update", ({ detail }) => {
    setQueue(detail.rooms || []);
    scheduleDashboard();
  });
  socket.addEventListener("room_risk", ({ detail }) => onRisk(detail));
  socket.addEventListener("report", ({ detail }) => {
    if (state.reports.add(detail)) announce("A participant reported a message.");
  });
  socket.addEventListener("ready", () => refreshAll());
  routeViewerEvents(socket);
  refreshAll();
  // The numbers move on their own too (waiting times): refresh every 15 s.
  setInterval(() => {
    loadDashboard();
    state.reports.load();
  }, 15000);
}

async function refreshAll() {
  await Promise.all([loadAlerts(), loadQueue(), loadStaff(), loadDashboard(), state.reports.load()]);
}

// Names of the staff, so the dashboard says who holds which conversation.
async function loadStaff() {
  try {
    const { staff = [] } = await state.api.get("/staff");
    for (const person of staff) if (person.user_id) state.handles.set(person.user_id, person.handle);
    renderDashboard();
  } catch {
    /* ids stay short ids */
  }
}

async function loadDashboard() {
  try {
    const dash = await state.api.get("/dashboard");
    state.dash = dash;
    for (const w of dash.active_rooms_per_worker || []) if (w.user_id && w.handle) state.handles.set(w.user_id, w.handle);
  } catch (error) {
    state.dash = null; // fall back to what the queue and alerts say
    $("#dash-updated").textContent = friendlyMessage(error);
  }
  renderDashboard();
}

/** Queue and alert frames come in bursts: one dashboard read per burst. */
function scheduleDashboard() {
  clearTimeout(state.dashTimer);
  state.dashTimer = setTimeout(loadDashboard, 800);
}

// --- alerts ---------------------------------------------------------------------------------------

async function loadAlerts() {
  try {
    const { alerts = [] } = await state.api.get("/alerts");
    for (const alert of alerts) upsertAlert(alert, { cue: false });
    renderAlerts();
    renderDashboard();
  } catch (error) {
    toast(friendlyMessage(error), "error");
  }
}

function upsertAlert(alert, { cue, resent = false }) {
  const known = state.alerts.get(alert.alert_id);
  const merged = { ...(known || {}), ...alert };
  merged.resent_count = (known?.resent_count || 0) + (resent ? 1 : 0);
  // A frame can arrive after our own ack/resolve answer: never move an alert backwards.
  const order = { open: 0, acknowledged: 1, resolved: 2 };
  if (known && order[known.status] > order[alert.status]) merged.status = known.status;
  state.alerts.set(alert.alert_id, merged);
  if (cue && merged.status === "open") merged.fresh_at = Date.now();
  return { isNew: !known, merged };
}

function onAlertFrame(frame) {
  const alert = frame.alert;
  if (!alert || !alert.alert_id) return;
  const before = state.alerts.get(alert.alert_id);
  const { isNew, merged } = upsertAlert(alert, { cue: true, resent: Boolean(frame.resent) });
  const needsAttention = merged.status === "open" && (isNew || frame.resent || before?.status !== "open");
  renderAlerts();
  renderDashboard();
  if (needsAttention) cueAlert(merged, Boolean(frame.resent) && !isNew);
}

function cueAlert(alert, resent) {
  const words = `${resent ? "Still waiting: " : "New "}${SEVERITY_WORDS[alert.severity] || alert.severity} alert: ${alert.reason || ""}`;
  const banner = $("#alert-banner");
  banner.textContent = words;
  banner.hidden = false;
  clearTimeout(cueAlert.timer);
  cueAlert.timer = setTimeout(() => (banner.hidden = true), 8000);
  announce(words);
  if (state.sound) beep(alert.severity === "crisis" ? 2 : 1);
}

function openCount() {
  return [...state.alerts.values()].filter((a) => a.status === "open").length;
}

function renderAlerts() {
  const list = $("#alerts");
  const wanted = state.filter === "resolved" ? ["resolved"] : ["open", "acknowledged"];
  const rank = { open: 0, acknowledged: 1, resolved: 2 };
  const severityRank = { crisis: 0, warning: 1 };
  const alerts = [...state.alerts.values()]
    .filter((a) => wanted.includes(a.status))
    .sort(
      (a, b) =>
        rank[a.status] - rank[b.status] ||
        (severityRank[a.severity] ?? 2) - (severityRank[b.severity] ?? 2) ||
        Date.parse(b.created_at) - Date.parse(a.created_at),
    );
  const open = openCount();
  document.title = open ? `(${open}) ${state.title}` : state.title;
  if (!alerts.length) {
    list.replaceChildren(
      h("li", { class: "muted", text: state.filter === "resolved" ? "No resolved alerts yet." : "No alerts need action. All calm." }),
    );
    return;
  }
  list.replaceChildren(...alerts.map(alertCard));
}

function alertCard(alert) {
  const fresh = alert.fresh_at && Date.now() - alert.fresh_at < 3000;
  const statusBits = [STATUS_WORDS[alert.status] || alert.status, `raised ${clock(alert.created_at)}`];
  const age = since(alert.created_at);
  if (alert.status === "open" && Number.isFinite(age)) statusBits.push(`${duration(age)} ago`);
  if (alert.attached_count) statusBits.push(`+${alert.attached_count} more signs`);
  const actions = [];
  if (alert.status === "open") {
    actions.push(
      h("button", {
        type: "button",
        class: "btn primary small",
        text: "Acknowledge",
        onclick: (e) => busy(e.currentTarget, () => acknowledge(alert)),
      }),
    );
  }
  if (alert.status !== "resolved") {
    actions.push(
      h("button", { type: "button", class: "btn outline small", text: "Resolve", onclick: (e) => busy(e.currentTarget, () => resolve(alert)) }),
    );
  }
  actions.push(
    h("button", {
      type: "button",
      class: "btn ghost small",
      text: "Open conversation",
      onclick: () => openViewer(alert.room_id, { highlightSeq: alert.message_seq }),
    }),
  );
  return h(
    "li",
    { class: `alert-card${fresh ? " fresh" : ""}`, dataset: { alertId: alert.alert_id, severity: alert.severity, status: alert.status } },
    h(
      "p",
      { class: "alert-top" },
      h("span", { class: "severity", dataset: { severity: alert.severity }, text: SEVERITY_WORDS[alert.severity] || alert.severity }),
      h("span", { class: "alert-status", text: statusBits.join(" · ") }),
      alert.resent_count
        ? h("span", {
            class: "resent",
            text: `Re-sent ${alert.resent_count}×`,
            title: "Nobody has acknowledged this alert yet, so it was sent to every supervisor again.",
          })
        : null,
    ),
    h("p", { class: "reason", text: alert.reason || "" }),
    alert.excerpt ? h("blockquote", { text: alert.excerpt }) : null,
    evidenceBlock(alert.evidence),
    alert.resolution_notes ? h("p", { class: "muted", text: `Notes: ${alert.resolution_notes}` }) : null,
    h("div", { class: "alert-actions" }, actions),
  );
}

/** Model evidence, folded away and labelled: reference sentences are never the person's words. */
function evidenceBlock(evidence) {
  if (!Array.isArray(evidence) || !evidence.length) return null;
  return h(
    "details",
    { class: "evidence" },
    h("summary", { text: "Model evidence (not the participant's words)" }),
    h("ul", {}, ...evidence.map((e) => h("li", { class: "muted", text: evidenceLine(e) }))),
  );
}

function evidenceLine(e) {
  const pct = (x) => `${Math.round(Number(x) * 100)}%`;
  switch (e.source) {
    case "reference_sentence":
      return `Similar to the reference sentence “${e.text}” (similarity ${Number(e.similarity).toFixed(2)})`;
    case "crisis_classifier":
      return `Crisis classifier: ${e.level} (crisis ${pct(e.p_crisis)}, elevated ${pct(e.p_elevated)})${e.nearest_kind ? `, nearest kind: ${String(e.nearest_kind).replaceAll("_", " ")}` : ""}`;
    case "forum_post_classifier":
      return `Forum-post classifier: ${pct(e.probability)}`;
    case "lexicon":
      return `Lexicon category: ${String(e.category).replaceAll("_", " ")}${e.past ? " (in the past)" : ""}`;
    case "conversation":
      return `Conversation: goodbye after earlier levels ${(e.recent_levels || []).join(", ")}`;
    default:
      return JSON.stringify(e);
  }
}

async function acknowledge(alert) {
  try {
    const updated = await state.api.post(`/alerts/${encodeURIComponent(alert.alert_id)}/ack`);
    upsertAlert(updated, { cue: false });
    renderAlerts();
    renderDashboard();
    announce("Alert acknowledged.");
  } catch (error) {
    toast(friendlyMessage(error), "error");
  }
}

async function resolve(alert) {
  const notes = await notesDialog({
    title: "Resolve this alert",
    label: "What happened? (optional, for the team)",
    confirm: "Resolve alert",
  });
  if (notes === null) return;
  try {
    const updated = await state.api.post(`/alerts/${encodeURIComponent(alert.alert_id)}/resolve`, notes ? { notes } : {});
    upsertAlert(updated, { cue: false });
    renderAlerts();
    renderDashboard();
    toast("Alert resolved.");
  } catch (error) {
    toast(friendlyMessage(error), "error");
  }
}

// --- sound: off by default; the AudioContext is made on the click that turns it on ----------------

function bindSound() {
  const button = $("#sound");
  button.hidden = false;
  button.setAttribute("aria-pressed", String(state.sound));
  button.setAttribute("aria-label", "Sound for new alerts");
  button.addEventListener("click", () => {
    state.sound = !state.sound;
    prefs.set("peerchat.supervisor.sound", state.sound);
    button.setAttribute("aria-pressed", String(state.sound));
    if (state.sound) beep(1);
  });
}

function beep(times = 1) {
  try {
    state.audio ||= new (window.AudioContext || window.webkitAudioContext)();
    const ctx = state.audio;
    if (ctx.state === "suspended") ctx.resume();
    for (let i = 0; i < times; i += 1) {
      const start = ctx.currentTime + i * 0.35;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.setValueAtTime(740, start);
      osc.frequency.linearRampToValueAtTime(880, start + 0.18);
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.28);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.3);
    }
  } catch {
    /* no audio here: the visual cue is still there */
  }
}

// --- dashboard -------------------------------------------------------------------------------------

async function loadQueue() {
  try {
    const { rooms = [] } = await state.api.get("/queue");
    setQueue(rooms);
  } catch (error) {
    $("#dash-updated").textContent = friendlyMessage(error);
  }
}

function setQueue(rooms) {
  state.queue = rooms;
  for (const r of rooms) state.moods.seed(r.room_id, r.sentiment);
  renderDashboard();
}

function onRisk(frame) {
  const entry = state.queue.find((r) => r.room_id === frame.room_id);
  if (entry) entry.risk = { ...(entry.risk || {}), level: riskLevel(frame.risk) };
  if (state.viewer?.roomId === frame.room_id) state.viewer.onRisk(frame);
  else if (frame.sentiment) state.moods.add(frame.room_id, frame.seq, frame.sentiment.score);
  renderDashboard();
}

function workerName(id) {
  if (!id) return "nobody";
  if (id === state.session.user_id) return "you";
  return state.handles.get(id) || `worker ${shortId(id)}`;
}

function renderDashboard() {
  const rooms = state.queue;
  const dash = state.dash;
  const waiting = rooms.filter((r) => r.status === "waiting");
  const active = rooms.filter((r) => r.status === "active");
  const alerts = [...state.alerts.values()];
  const open = alerts.filter((a) => a.status === "open");

  // Numbers from GET /dashboard when we have it; from the queue and alerts otherwise.
  const waits = waiting.map((r) => since(r.waiting_since)).filter(Number.isFinite);
  const waitingCount = dash ? dash.waiting : waiting.length;
  const longest = dash ? (dash.waiting ? dash.longest_wait_seconds * 1000 : NaN) : waits.length ? Math.max(...waits) : NaN;
  const perWorker = dash
    ? (dash.active_rooms_per_worker || []).map((w) => [w.user_id, w.active_rooms])
    : [...active.reduce((m, r) => m.set(r.assigned_to, (m.get(r.assigned_to) || 0) + 1), new Map())];
  const activeCount = dash ? dash.active_rooms : active.length;
  const crisisAlerts = dash ? dash.open_alerts?.crisis || 0 : open.filter((a) => a.severity === "crisis").length;
  const warningAlerts = dash ? dash.open_alerts?.warning || 0 : open.filter((a) => a.severity === "warning").length;
  const levels = ["crisis", "elevated", "none"];
  const byLevel = dash?.rooms_by_risk
    ? Object.fromEntries(levels.map((l) => [l, dash.rooms_by_risk[l] || 0]))
    : Object.fromEntries(levels.map((l) => [l, rooms.filter((r) => riskLevel(r.risk) === l).length]));

  const stat = (value, label, alarm = false) =>
    h("li", { class: "stat", dataset: { alarm: String(alarm) } }, h("span", { class: "value", text: String(value) }), h("span", { class: "label", text: label }));
  const supporters = perWorker.length;
  const stats = [
    stat(waitingCount, "waiting for support"),
    stat(Number.isFinite(longest) ? duration(longest, { short: true }) : "none", "longest wait", longest > 10 * 60000),
    stat(activeCount, `active conversations (${supporters} ${supporters === 1 ? "supporter" : "supporters"})`),
    stat(crisisAlerts + warningAlerts, `alerts not resolved (${crisisAlerts} crisis, ${warningAlerts} warning)`, open.length > 0 || crisisAlerts > 0),
  ];
  if (dash && Number.isFinite(dash.active_groups)) stats.push(stat(dash.active_groups, dash.active_groups === 1 ? "group open" : "groups open"));
  $("#stats").replaceChildren(...stats);

  $("#charts").replaceChildren(
    barChart(
      [...perWorker].sort((a, b) => b[1] - a[1]).map(([id, n]) => ({ label: workerName(id), value: n })),
      { caption: "Active conversations per peer supporter", empty: "No active conversations." },
    ),
    barChart(
      [...waiting].sort(byUrgency).slice(0, 8).map((r) => ({
        label: r.topic ? topicName(r.topic) : "No topic",
        value: Math.round((since(r.waiting_since) || 0) / 60000),
        level: riskLevel(r.risk),
      })),
      { caption: "Waiting now (minutes)", unit: " min", empty: "Nobody is waiting." },
    ),
    stackedBar(
      levels.map((l) => ({ label: RISK_WORDS[l], value: byLevel[l], level: l })),
      { caption: "Open conversations by risk" },
    ),
  );

  const tbody = $("#rooms-table tbody");
  tbody.replaceChildren(
    ...[...rooms].sort(byUrgency).map((r) =>
      h(
        "tr",
        { dataset: { roomId: r.room_id } },
        h("td", {}, riskBadge(r.risk)),
        h("td", { text: r.topic ? topicName(r.topic) : "—" }),
        h("td", { text: r.status === "waiting" ? `waiting ${duration(since(r.waiting_since))}` : r.status }),
        h("td", { text: r.status === "waiting" ? "—" : workerName(r.assigned_to) }),
        h("td", {}, h("button", { type: "button", class: "btn ghost small", text: "Watch", "aria-label": `Watch conversation about ${r.topic ? topicName(r.topic) : "no topic"}`, onclick: () => openViewer(r.room_id) })),
      ),
    ),
  );
  if (!rooms.length) tbody.replaceChildren(h("tr", {}, h("td", { colspan: "5", class: "muted", text: "No open conversations." })));
  const at = dash?.at ? clock(dash.at) : clock();
  $("#dash-updated").textContent = `Updated ${at}`;
}

// --- the room viewer: watch silently, or join -----------------------------------------------------

function routeViewerEvents(socket) {
  const viewer = (detail) => (state.viewer?.roomId === detail.room_id ? state.viewer : null);
  socket.addEventListener("message", ({ detail }) => {
    learnHandle(detail);
    viewer(detail)?.onMessage(detail);
  });
  socket.addEventListener("ack", ({ detail }) => viewer(detail)?.onAck(detail));
  socket.addEventListener("send-failed", ({ detail }) => viewer(detail)?.onSendFailed(detail));
  socket.addEventListener("typing", ({ detail }) => viewer(detail)?.onTyping(detail.handle));
  socket.addEventListener("presence", ({ detail }) => viewer(detail)?.onPresence(detail.online || []));
  socket.addEventListener("room_closed", ({ detail }) => viewer(detail)?.refresh());
  socket.addEventListener("error", ({ detail }) => {
    if (viewer(detail) && detail.code !== "rate_limited") toast(detail.detail ? sentence(detail.detail) : "That didn't work.", "error");
  });
}

function learnHandle(message) {
  // Peer supporters' names, so the dashboard can say who holds which conversation.
  if (message.sender?.role === "peer_worker" && message.sender.id) {
    state.handles.set(message.sender.id, message.sender.handle);
  }
}

async function openViewer(roomId, { highlightSeq = null } = {}) {
  if (state.viewer?.roomId !== roomId) {
    closeViewer({ keepHidden: true });
    const room = new StaffRoom({
      roomId,
      api: state.api,
      socket: state.socket,
      session: state.session,
      moods: state.moods,
      readOnly: true,
      watch: true,
      actions: viewerActions,
    });
    state.viewer = room;
    $("#viewer-room").replaceChildren(room.el);
    $("#dashboard").hidden = true;
    $("#viewer").hidden = false;
    await room.load();
    renderViewerMode();
  }
  $("#dashboard").hidden = true;
  $("#viewer").hidden = false;
  if (highlightSeq) state.viewer.highlight(highlightSeq);
  state.viewer.title.focus();
}

function viewerActions(room) {
  const buttons = [];
  if (!room.closed && room.readOnly) {
    buttons.push(h("button", { type: "button", class: "btn primary small", text: "Join conversation", onclick: () => joinOpenly(room) }));
  }
  if (!room.closed && room.summary.kind === "one_to_one" && room.summary.status === "active") {
    buttons.push(
      h("button", {
        type: "button",
        class: "btn outline small",
        text: "Hand over",
        onclick: async () => {
          if (await transferDialog(state.api, room.roomId, { excludeUserIds: [room.summary.assigned_to] })) {
            toast("Conversation handed over.");
            room.refresh();
            loadQueue();
          }
        },
      }),
    );
  }
  if (!room.closed) {
    buttons.push(h("button", { type: "button", class: "btn outline small", text: "Close", onclick: (e) => busy(e.currentTarget, () => closeRoom(room)) }));
  }
  return buttons;
}

async function joinOpenly(room) {
  const ok = await confirmDialog({
    title: "Join this conversation?",
    body: "Everyone in the room will see you and can read what you write.",
    confirm: "Join",
    cancel: "Keep watching",
  });
  if (!ok) return;
  room.readOnly = false;
  room.watch = false;
  state.socket.join(room.roomId, room.chat.lastSeq(), { watch: false });
  room.render();
  renderViewerMode();
  room.composer.input.focus();
}

async function closeRoom(room) {
  if (await closeWithNotes(state.api, room)) {
    renderViewerMode();
    loadQueue();
  }
}

function renderViewerMode() {
  const room = state.viewer;
  if (!room) return;
  $("#viewer-mode").textContent = room.closed ? "Ended" : room.readOnly ? "Watching silently" : "Joined: you are visible";
}

function closeViewer({ keepHidden = false } = {}) {
  if (state.viewer) {
    state.viewer.destroy();
    state.viewer = null;
  }
  if (keepHidden) return;
  $("#viewer").hidden = true;
  $("#dashboard").hidden = false;
  renderDashboard();
}
