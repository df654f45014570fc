// Small charts as inline SVG, built with DOM APIs (no library, nothing inline for CSP to refuse).
// Each chart has a text alternative: a <title> and an aria-label with the numbers in words.

import { h, svg } from "./dom.js";
import { moodWords } from "./risk.js";

/** A mood sparkline: scores in [-1, 1] over time, with the neutral line dashed. */
export function sparkline(values, { width = 84, height = 26 } = {}) {
  const label = `Mood trend: ${moodWords(values)}`;
  const root = svg("svg", {
    class: "sparkline",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": label,
  });
  root.append(svg("title", {}, label));
  const pad = 3;
  const y = (v) => pad + ((1 - Math.max(-1, Math.min(1, v))) / 2) * (height - 2 * pad);
  root.append(
    svg("line", { x1: 0, x2: width, y1: y(0), y2: y(0), class: "spark-zero" }),
  );
  if (!values.length) return root;
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  const points = values.map((v, i) => [pad + i * step, y(v)]);
  if (points.length > 1) {
    root.append(
      svg("polyline", {
        points: points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(" "),
        class: "spark-line",
      }),
    );
  }
  const [lx, ly] = points[points.length - 1];
  const last = values[values.length - 1];
  root.append(
    svg("circle", {
      cx: lx.toFixed(1),
      cy: ly.toFixed(1),
      r: 2.8,
      class: `spark-dot ${last <= -0.35 ? "low" : last >= 0.35 ? "high" : "mid"}`,
    }),
  );
  return root;
}

/**
 * Horizontal bars: rows of {label, value, level?, note?}. Returns a <figure> with a caption,
 * the SVG, and the same numbers as a visually hidden list for screen readers.
 */
export function barChart(rows, { caption, unit = "", empty = "Nothing to show", width = 360 } = {}) {
  const figure = h("figure", { class: "chart" }, h("figcaption", { text: caption }));
  if (!rows.length) {
    figure.append(h("p", { class: "muted chart-empty", text: empty }));
    return figure;
  }
  const rowHeight = 26;
  const labelWidth = Math.min(130, Math.round(width * 0.36));
  const valueWidth = 56;
  const barSpace = width - labelWidth - valueWidth;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const height = rows.length * rowHeight + 4;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    class: "bars",
    role: "img",
    "aria-label": `${caption}: ${rows.map((r) => `${r.label} ${r.value}${unit}`).join(", ")}`,
    preserveAspectRatio: "xMinYMin meet",
  });
  rows.forEach((row, i) => {
    const top = i * rowHeight + 2;
    const barWidth = Math.max(2, (row.value / max) * (barSpace - 8));
    root.append(
      svg("text", { x: 0, y: top + 17, class: "bar-label" }, truncate(row.label, 18)),
      svg("rect", {
        x: labelWidth,
        y: top + 4,
        width: barWidth.toFixed(1),
        height: rowHeight - 10,
        rx: 4,
        class: `bar ${row.level ? `bar-${row.level}` : ""}`,
      }),
      svg("text", { x: labelWidth + barWidth + 6, y: top + 17, class: "bar-value" }, `${row.value}${unit}`),
    );
  });
  figure.append(root);
  return figure;
}

/** One stacked bar of parts {label, value, level}: e.g. open conversations by risk. */
export function stackedBar(parts, { caption, width = 360 } = {}) {
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  const figure = h("figure", { class: "chart" }, h("figcaption", { text: caption }));
  const words = parts.map((p) => `${p.label}: ${p.value}`).join(", ");
  const root = svg("svg", {
    viewBox: `0 0 ${width} 22`,
    width: "100%",
    class: "stack",
    role: "img",
    "aria-label": `${caption}: ${words}`,
    preserveAspectRatio: "none",
  });
  if (!total) {
    root.append(svg("rect", { x: 0, y: 2, width, height: 18, rx: 6, class: "bar-empty" }));
  }
  let x = 0;
  for (const part of parts) {
    if (!part.value) continue;
    const w = (part.value / total) * width;
    root.append(svg("rect", { x: x.toFixed(1), y: 2, width: w.toFixed(1), height: 18, class: `bar bar-${part.level}` }));
    x += w;
  }
  figure.append(
    root,
    h(
      "ul",
      { class: "legend" },
      parts.map((p) => h("li", { dataset: { level: p.level } }, h("span", { class: "swatch", "aria-hidden": "true" }), `${p.label}: ${p.value}`)),
    ),
  );
  return figure;
}

function truncate(text, n) {
  const s = String(text ?? "");
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
