// The supervisor's page (/supervisor): live alerts (updated in place by alert_id, re-sent ones
// included) with a visual and optional sound cue; acknowledge and resolve; watch any room
// silently or join it; reported messages; and a dashboard of the service now (GET /dashboard,
// refreshed on queue and alert news and every 15 s, with the open rooms from /queue).

import { Newest, friendlyMessage, sentence } from "./api.js";
import { barChart, stackedBar } from "./charts.js";
import { mountCannedAdmin } from "./canned.js";
import { mountGroupsAdmin } from "./groups-admin.js";
import { mountProgramme } from "./insights.js";
import { loadResources, topicName } from "./resources.js";
import { $, $$, announce, clock, duration, h, shortId, since } from "./dom.js";
import { MoodHistory, RISK_WORDS, byUrgency, isNewerRisk, keepNewerRisks, riskBadge, riskLevel } from "./risk.js";
import { ReportList } from "./reports.js";
import { StaffRoom, closeWithNotes, staffHandles } from "./staff-room.js";
import { startStaffPage } from "./staff.js";
import { transferDialog } from "./transfer.js";
import { busy, confirmDialog, notesDialog, toast } from "./ui.js";
import { Attention } from "./attention.js";
const SEVERITY_WORDS = { crisis: "Crisis", warning: "Warning" };
const STATUS_WORDS = { open: "Open", acknowledged: "Acknowledged", resolved: "Resolved" };

const state = {
  session: null,
  api: null,
  socket: null,
  alerts: new Map(), // alert_id -> alert (+ resent_count, seen_at)
  filter: "active",
  queue: [],
  queueNews: new Newest(), // queue reads and queue_update frames: an older reply is not drawn
  handles: new Map(), // user id -> handle, from GET /staff and the dashboard
  dash: null, // the last GET /dashboard
  dashTimer: 0,
  reports: null,
  moods: new MoodHistory(),
  viewer: null, // StaffRoom
  attention: null, // Attention: sound (on by default) and the title's count
  helpBanner: null, // alert_id whose help press the banner shows, until someone acts on it
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
  state.attention = new Attention({ key: "peerchat.supervisor.sound", button: $("#sound"), what: "new alerts and help requests" });
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
    state.queueNews.mark();
    setQueue(detail.rooms || []);
    scheduleDashboard();
  });
  socket.addEventListener("room_risk", ({ detail }) => onRisk(detail));
  socket.addEventListener("dashboard", ({ detail }) => {
    if (!detail.dashboard) return;
    state.dash = detail.dashboard;
    renderDashboard();
  });
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
    for (const person of staff) {
      if (!person.user_id) continue;
      state.handles.set(person.user_id, person.handle);
      staffHandles.set(person.user_id, person.handle);
    }
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
  // A frame can arrive after our own ack/resolve answer: never move an alert backwards, except
  // for a new "I need help now" press, which re-opens it (more help requests than we knew).
  const order = { open: 0, acknowledged: 1, resolved: 2 };
  const moreHelp = helpCount(alert) > helpCount(known);
  if (known && order[known.status] > order[alert.status] && !moreHelp) merged.status = known.status;
  if (known && helpCount(known) > helpCount(alert)) merged.help_requests = known.help_requests;
  state.alerts.set(alert.alert_id, merged);
  if (cue && merged.status === "open") merged.fresh_at = Date.now();
  return { isNew: !known, merged, moreHelp: Boolean(known) && moreHelp };
}

function helpCount(alert) {
  return Number(alert?.help_requests) || 0;
}

function onAlertFrame(frame) {
  const alert = frame.alert;
  if (!alert || !alert.alert_id) return;
  const before = state.alerts.get(alert.alert_id);
  const { isNew, merged, moreHelp } = upsertAlert(alert, { cue: true, resent: Boolean(frame.resent) });
  const help = merged.status === "open" && helpCount(merged) > 0 && (isNew ? true : moreHelp);
  const needsAttention = merged.status === "open" && (isNew || frame.resent || moreHelp || before?.status !== "open");
  renderAlerts();
  renderDashboard();
  const resent = Boolean(frame.resent) && !isNew;
  if (help) cueHelp(merged);
  else if (resent && merged.status === "open" && helpCount(merged) > 0) cueHelp(merged, { resent });
  else if (needsAttention) cueAlert(merged, resent);
}

function cueAlert(alert, resent) {
  const words = `${resent ? "Still waiting: " : "New "}${SEVERITY_WORDS[alert.severity] || alert.severity} alert: ${alert.reason || ""}`;
  if (state.helpBanner && state.alerts.get(state.helpBanner)?.status === "open") {
    // A help press is on the banner and nobody has acted on it: it stays; this one is read out.
    announce(words);
    state.attention.play(alert.severity === "crisis" ? 2 : 1);
    return;
  }
  showBanner(words, { kind: "alert" });
  clearTimeout(cueAlert.timer);
  cueAlert.timer = setTimeout(() => hideBanner("alert"), 8000);
  announce(words);
  state.attention.play(alert.severity === "crisis" ? 2 : 1);
}

/**
 * "I need help now": the loudest cue. The banner stays until a supervisor acknowledges or
 * resolves that alert (or opens it from the banner), and plays the sound twice.
 */
function cueHelp(alert, { resent = false } = {}) {
  const count = helpCount(alert);
  const room = state.queue.find((r) => r.room_id === alert.room_id);
  const topic = room?.topic ? ` (${topicName(room.topic)})` : "";
  const words = resent
    ? `Still waiting: a participant${topic} pressed “I need help now”${count > 1 ? ` ${count} times` : ""} and nobody has acknowledged it yet.`
    : count > 1
      ? `Help requested again: a participant${topic} pressed “I need help now” ${count} times. Someone needs to respond.`
      : `Help requested: a participant${topic} pressed “I need help now”. Someone needs to respond.`;
  state.helpBanner = alert.alert_id;
  clearTimeout(cueAlert.timer);
  showBanner(words, {
    kind: "help",
    action: h("button", {
      type: "button",
      class: "btn small banner-action",
      text: "Open conversation",
      onclick: () => openViewer(alert.room_id, { highlightSeq: alert.message_seq }),
    }),
  });
  announce(words);
  state.attention.play(3, { every: !resent });
}

function showBanner(words, { kind, action = null }) {
  const banner = $("#alert-banner");
  banner.dataset.kind = kind;
  banner.replaceChildren(h("span", { class: "banner-text", text: words }), action);
  banner.hidden = false;
}

function hideBanner(kind = null) {
  const banner = $("#alert-banner");
  if (kind && banner.dataset.kind !== kind) return;
  banner.hidden = true;
  if (banner.dataset.kind === "help") state.helpBanner = null;
}

/** After a change to alerts: a help banner whose alert someone has acted on goes away. */
function settleHelpBanner() {
  if (!state.helpBanner) return;
  const alert = state.alerts.get(state.helpBanner);
  if (!alert || alert.status !== "open") hideBanner("help");
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
  state.attention.setBadge(openCount());
  settleHelpBanner();
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
  const help = helpCount(alert);
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
    {
      class: `alert-card${fresh ? " fresh" : ""}`,
      dataset: { alertId: alert.alert_id, severity: alert.severity, status: alert.status, help: String(help) },
    },
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
    help
      ? h("p", {
          class: "help-count",
          text: help === 1 ? "The participant pressed “I need help now”." : `The participant pressed “I need help now” ${help} times.`,
        })
      : null,
    h("p", { class: "reason" }, ...plainReason(alert.reason || "")),
    alert.excerpt
      ? h("figure", { class: "their-words" }, h("figcaption", { class: "muted", text: "The participant wrote:" }), h("blockquote", { text: alert.excerpt }))
      : null,
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

/**
 * An alert's reason in plain words; text it puts in double quotes is the participant's own
 * (the contract), so it is marked up as a quotation and read as one.
 */
function plainReason(reason) {
  const parts = [];
  const re = /"([^"]+)"|“([^”]+)”/g;
  let last = 0;
  for (let m = re.exec(reason); m; m = re.exec(reason)) {
    if (m.index > last) parts.push(reason.slice(last, m.index));
    parts.push(h("q", { class: "their-words-inline", title: "The participant's own words", text: m[1] ?? m[2] }));
    last = re.lastIndex;
  }
  if (last < reason.length) parts.push(reason.slice(last));
  return parts;
}

// --- dashboard -------------------------------------------------------------------------------------

async function loadQueue() {
  const mark = state.queueNews.mark();
  try {
    const { rooms = [] } = await state.api.get("/queue");
    if (state.queueNews.latest(mark)) setQueue(rooms);
  } catch (error) {
    $("#dash-updated").textContent = friendlyMessage(error);
  }
}

function setQueue(rooms) {
  state.queue = keepNewerRisks(state.queue, rooms);
  const watched = state.viewer && rooms.find((r) => r.room_id === state.viewer.roomId);
  if (watched) state.viewer.onQueueEntry(watched);
  for (const r of rooms) state.moods.seed(r.room_id, r.sentiment);
  renderDashboard();
}

function onRisk(frame) {
  const entry = state.queue.find((r) => r.room_id === frame.room_id);
  if (entry && isNewerRisk(frame.risk, entry.risk?.version)) entry.risk = { ...(entry.risk || {}), ...frame.risk };
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
  // Alerts from the live alert frames, so the count moves the moment an alert does (the
  // dashboard's own numbers are read again shortly after, for everything else).
  const unresolved = alerts.filter((a) => a.status !== "resolved");
  const crisisAlerts = unresolved.filter((a) => a.severity === "crisis").length;
  const warningAlerts = unresolved.filter((a) => a.severity !== "crisis").length;
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
    stat(open.length, open.length === 1 ? "alert nobody has acknowledged" : "alerts nobody has acknowledged", open.length > 0),
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
        h(
          "td",
          {},
          r.topic ? topicName(r.topic) : "—",
          r.preview ? h("span", { class: "row-preview" }, h("span", { class: "visually-hidden", text: "They wrote: " }), h("q", { text: r.preview })) : null,
        ),
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
  socket.addEventListener("note", ({ detail }) => viewer(detail)?.onNote(detail));
  socket.addEventListener("note_ack", ({ detail }) => viewer(detail)?.onNoteAck(detail));
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
