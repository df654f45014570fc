// Messages that participants reported in groups (GET /reports, live `report` frames), for the
// staff who moderate: supervisors see all, peer workers those in groups and their own rooms.

import { friendlyMessage } from "./api.js";
import { clock, h } from "./dom.js";
import { busy, toast } from "./ui.js";

export class ReportList {
  /**
   * @param {object} o
   * @param {import("./api.js").Api} o.api
   * @param {HTMLElement} o.list  an <ol> to fill
   * @param {HTMLElement} [o.box]  shown only while there are reports
   * @param {(report) => void} o.onOpen  open the conversation at the reported message
   * @param {(count: number) => void} [o.onChange]
   */
  constructor({ api, list, box = null, onOpen, onChange = () => {} }) {
    Object.assign(this, { api, list, box, onOpen, onChange });
    this.reports = new Map(); // report_id (or room:seq) -> report
  }

  key(report) {
    return report.report_id || `${report.room_id}:${report.seq}:${report.reported_by}`;
  }

  async load() {
    try {
      const { reports = [] } = await this.api.get("/reports?status=open");
      this.reports = new Map(reports.map((r) => [this.key(r), r]));
    } catch {
      /* keep what we have; the next refresh tries again */
    }
    this.render();
  }

  /** A live `report` frame: shown at once, then completed (excerpt) by a reload. */
  add(frame) {
    const report = { status: "open", created_at: new Date().toISOString(), ...frame };
    delete report.type;
    const isNew = !this.reports.has(this.key(report));
    this.reports.set(this.key(report), { ...(this.reports.get(this.key(report)) || {}), ...report });
    this.render();
    if (isNew) this.load();
    return isNew;
  }

  get open() {
    return [...this.reports.values()].filter((r) => r.status !== "resolved");
  }

  render() {
    const reports = this.open.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
    if (this.box) this.box.hidden = !reports.length;
    this.list.replaceChildren(...reports.map((r) => this.item(r)));
    if (!reports.length && !this.box) {
      this.list.replaceChildren(h("li", { class: "muted", text: "No reported messages." }));
    }
    this.onChange(reports.length);
  }

  item(report) {
    return h(
      "li",
      { class: "report-card", dataset: { reportId: report.report_id || "", roomId: report.room_id } },
      h("p", { class: "report-top" }, h("span", { class: "report-tag", text: "Reported" }), h("span", { class: "muted", text: `${clock(report.created_at)} · message ${report.seq}` })),
      report.excerpt ? h("blockquote", { text: report.excerpt }) : null,
      h("p", { class: "report-reason", text: report.reason ? `Why: ${report.reason}` : "No reason given." }),
      h(
        "div",
        { class: "alert-actions" },
        h("button", { type: "button", class: "btn outline small", text: "Open conversation", onclick: () => this.onOpen(report) }),
        report.report_id
          ? h("button", {
              type: "button",
              class: "btn ghost small",
              text: "Mark handled",
              "aria-label": `Mark handled: the report on message ${report.seq}`,
              onclick: (e) => busy(e.currentTarget, () => this.resolve(report)),
            })
          : null,
      ),
    );
  }

  async resolve(report) {
    try {
      const updated = await this.api.post(`/reports/${encodeURIComponent(report.report_id)}/resolve`);
      this.reports.set(this.key(report), { ...report, ...updated, status: "resolved" });
      this.render();
      toast("Report marked as handled.");
    } catch (error) {
      toast(friendlyMessage(error), "error");
    }
  }
}
