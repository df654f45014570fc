// The supervisors' "Programme" section: GET /insights over a chosen period, as figures, small
// charts and a CSV download. Figures behind fewer than five conversations arrive suppressed
// (value null) and are shown as such, never guessed.

import { friendlyMessage } from "./api.js";
import { barChart } from "./charts.js";
import { duration, h } from "./dom.js";

const DAY = 24 * 3600 * 1000;

const seconds = (v) => duration(v * 1000, { short: true });
const FIGURES = [
  ["conversations", "Conversations", String],
  ["conversations_answered", "Answered", String],
  ["wait_seconds_median", "Median wait", seconds],
  ["wait_seconds_p90", "90% waited under", seconds],
  ["duration_seconds_median", "Median length", seconds],
  ["mood_change_mean", "Mood change (1 to 5 scale)", (v) => (v > 0 ? `+${v}` : String(v))],
  ["alerts_share", "With an alert", (v) => `${Math.round(v * 100)}%`],
  ["ack_seconds_median", "Median time to acknowledge", seconds],
  ["groups_active", "Active groups", String],
  ["group_messages", "Messages in groups", String],
];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/** Adds the Programme section to `parent` (the dashboard) and loads the last 30 days. */
export function mountProgramme({ api, parent }) {
  const today = new Date();
  const from = h("input", { type: "date", id: "programme-from", value: isoDay(new Date(today - 30 * DAY)) });
  const to = h("input", { type: "date", id: "programme-to", value: isoDay(today) });
  const status = h("p", { class: "muted", role: "status", id: "programme-status" });
  const stats = h("ul", { class: "stats", id: "programme-stats" });
  const charts = h("div", { class: "charts", id: "programme-charts" });
  const download = h("button", { type: "button", class: "btn outline small", id: "programme-csv", text: "Download CSV" });
  const form = h(
    "form",
    { class: "row programme-range" },
    h("label", { for: "programme-from", text: "From" }),
    from,
    h("label", { for: "programme-to", text: "To" }),
    to,
    h("button", { type: "submit", class: "btn primary small", text: "Show" }),
    download,
  );
  const section = h(
    "section",
    { id: "programme", class: "programme", "aria-labelledby": "programme-title" },
    h("div", { class: "pane-head" }, h("h2", { id: "programme-title", text: "Programme" }), status),
    h("p", {
      class: "muted small-print",
      text: "Figures with fewer than 5 conversations behind them are hidden, so nobody can be singled out. Mood is what participants chose to tell us, before and after.",
    }),
    form,
    stats,
    charts,
  );
  parent.append(section);

  const query = () => `?from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;

  async function load() {
    status.textContent = "Loading…";
    try {
      const view = await api.get(`/insights${query()}`);
      render(view, stats, charts);
      const shown = `${from.value || view.from.slice(0, 10)} to ${to.value || "now"}`;
      status.textContent = `${shown} (UTC, both days included)`;
    } catch (error) {
      status.textContent = friendlyMessage(error);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  // The CSV needs the bearer token, so it is fetched here and handed over as a file.
  download.addEventListener("click", async () => {
    try {
      const token = api.getToken();
      const response = await fetch(`/api/v1/insights.csv${query()}`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
        cache: "no-store",
        credentials: "omit",
      });
      if (!response.ok) throw new Error(`download failed (${response.status})`);
      const url = URL.createObjectURL(await response.blob());
      const link = h("a", { href: url, download: `peerchat-insights-${from.value}-${to.value}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch {
      status.textContent = "The CSV could not be downloaded. Check the dates and try again.";
    }
  });
  load();
  return { reload: load };
}

function figureText(fig, format) {
  if (!fig || fig.suppressed || fig.value === null) return "Hidden";
  return format(fig.value);
}

function render(view, stats, charts) {
  const figures = view.figures || {};
  stats.replaceChildren(
    ...FIGURES.map(([name, label, format]) => {
      const fig = figures[name];
      const hidden = !fig || fig.suppressed;
      return h(
        "li",
        { class: "stat", dataset: { figure: name, suppressed: String(hidden) } },
        h("span", { class: "value", text: figureText(fig, format) }),
        h("span", { class: "label", text: label }),
        hidden ? h("span", { class: "label", text: `${fig?.reason || "not enough data"} (${fig?.n ?? 0})` }) : null,
      );
    }),
  );
  const before = figures.mood_before_mean;
  const after = figures.mood_after_mean;
  const mood = before && after && !before.suppressed && !after.suppressed
    ? [
        { label: "Before", value: before.value },
        { label: "After", value: after.value },
      ]
    : [];
  const workers = (view.workers || []).map((w) => ({ label: w.handle, value: w.active_hours }));
  const conversations = (view.workers || []).map((w) => ({ label: w.handle, value: w.conversations }));
  charts.replaceChildren(
    barChart(mood, {
      caption: `Mean mood, 1 to 5${before && !before.suppressed ? ` (${before.n} conversations)` : ""}`,
      empty: "Fewer than 5 conversations with both check-ins",
    }),
    barChart(conversations, { caption: "Conversations per peer supporter", empty: "No peer supporter with 5 or more conversations" }),
    barChart(workers, { caption: "Hours of conversation per peer supporter", unit: " h", empty: "No peer supporter with 5 or more conversations" }),
  );
}
