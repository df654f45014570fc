// "My recent conversations" on the peer worker's page (GET /me/outcomes): their last
// conversations, hours today and this week, and how many they hold against the cap, to help
// them keep healthy boundaries. Participants' comments are never part of it.

import { clock, duration, h } from "./dom.js";

const REFRESH_MS = 60000;

function moodText(mood) {
  if (mood?.change === null || mood?.change === undefined) return "no check-ins";
  const sign = mood.change > 0 ? "+" : "";
  return `mood ${mood.before} → ${mood.after} (${sign}${mood.change})`;
}

function row(conv) {
  const parts = [
    conv.topic || "No topic",
    conv.wait_seconds !== null ? `waited ${duration(conv.wait_seconds * 1000, { short: true })}` : null,
    conv.duration_seconds !== null ? `talked ${duration(conv.duration_seconds * 1000, { short: true })}` : null,
    moodText(conv.mood),
    conv.alerts.total ? `${conv.alerts.total} alert${conv.alerts.total > 1 ? "s" : ""}` : null,
  ].filter(Boolean);
  const when = conv.claimed_at ? clock(conv.claimed_at) : "";
  return h(
    "li",
    { dataset: { roomId: conv.room_id, status: conv.status } },
    h("span", { class: "muted", text: `${when} ${conv.status === "active" ? "· now" : ""} ` }),
    parts.join(" · "),
  );
}

/** Adds the panel to `parent` and keeps it fresh (every minute, and when the queue changes). */
export function mountMyOutcomes({ api, socket, parent }) {
  const summary = h("p", { class: "muted small-print", id: "my-outcomes-summary", role: "status" });
  const list = h("ol", { class: "my-outcomes-list", id: "my-outcomes-list" });
  const panel = h(
    "details",
    { class: "card my-outcomes", id: "my-outcomes" },
    h("summary", { text: "My recent conversations" }),
    summary,
    list,
  );
  parent.append(panel);
  let timer = 0;

  async function load() {
    try {
      const mine = await api.get("/me/outcomes");
      summary.textContent =
        `Today ${mine.hours_today} h · this week ${mine.hours_this_week} h · ` +
        `holding ${mine.active_rooms} of ${mine.max_rooms} conversations`;
      list.replaceChildren(
        ...(mine.conversations.length
          ? mine.conversations.map(row)
          : [h("li", { class: "muted", text: "No conversations yet." })]),
      );
    } catch {
      summary.textContent = "Your recent conversations could not be loaded just now.";
    }
  }

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 2000);
  };
  socket?.addEventListener("queue_update", soon);
  setInterval(load, REFRESH_MS);
  load();
  return { reload: load };
}
