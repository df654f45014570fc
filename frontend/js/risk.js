// Risk and mood in words (as well as colour and shape), for staff views only.

import { h } from "./dom.js";

export const RISK_WORDS = { crisis: "Crisis", elevated: "Elevated", none: "No flags" };
const RISK_RANK = { crisis: 0, elevated: 1, none: 2 };

export function riskLevel(risk) {
  const level = risk && typeof risk === "object" ? risk.level : risk;
  return level in RISK_WORDS ? level : "none";
}

/**
 * Whether `risk` (a room's risk from a room_risk frame, a queue entry or an HTTP reply) is at
 * least as new as the version already held. The server counts every change to a room's risk;
 * news of one room comes by several routes that arrive in no set order, and an older one must
 * never undo a newer one (a reply read before a help press, landing after it). A risk without
 * a version is taken.
 */
export function isNewerRisk(risk, heldVersion) {
  const version = risk?.version;
  return !Number.isFinite(version) || !Number.isFinite(heldVersion) || version >= heldVersion;
}

/** A queue snapshot's entries, each keeping the risk already held where that one is newer. */
export function keepNewerRisks(held, rooms) {
  const risks = new Map(held.map((r) => [r.room_id, r.risk]));
  return rooms.map((r) => {
    const before = risks.get(r.room_id);
    return before && !isNewerRisk(r.risk, before.version) ? { ...r, risk: before } : r;
  });
}

export function riskBadge(risk, { compact = false } = {}) {
  const level = riskLevel(risk);
  const words = compact && level === "none" ? "OK" : RISK_WORDS[level];
  return h("span", { class: "risk", dataset: { level }, text: words, title: `Risk: ${RISK_WORDS[level]}` });
}

/** Most urgent first: crisis, elevated, then (for a peer worker) rooms that match their
 * profile, then longest waiting: the server's queue order, kept when the page re-sorts. */
export function byUrgency(a, b) {
  const ra = RISK_RANK[riskLevel(a.risk)];
  const rb = RISK_RANK[riskLevel(b.risk)];
  if (ra !== rb) return ra - rb;
  const wa = a.status === "waiting" ? 0 : 1;
  const wb = b.status === "waiting" ? 0 : 1;
  if (wa !== wb) return wa - wb;
  const ma = Number(a.match?.score) || 0;
  const mb = Number(b.match?.score) || 0;
  if (ma !== mb) return mb - ma;
  return (Date.parse(a.waiting_since) || 0) - (Date.parse(b.waiting_since) || 0);
}

export function moodWords(values) {
  if (!values.length) return "no mood readings yet";
  const last = values[values.length - 1];
  const tone = last <= -0.35 ? "low" : last >= 0.35 ? "positive" : "neutral";
  if (values.length < 2) return `mood ${tone}`;
  const delta = last - values[0];
  const direction = delta <= -0.15 ? "declining" : delta >= 0.15 ? "improving" : "steady";
  return `mood ${tone}, ${direction}`;
}

/**
 * Per-room sentiment history for sparklines: seeded from the queue's {last, trend} and extended
 * by every room_risk frame (one point per scored message, keyed by seq so repeats don't count).
 */
export class MoodHistory {
  constructor(limit = 24) {
    this.limit = limit;
    this.rooms = new Map();
  }
  seed(roomId, sentiment) {
    if (this.rooms.has(roomId) || !sentiment) return;
    const { last, trend } = sentiment;
    let points = [];
    if (Array.isArray(trend)) points = trend.filter(Number.isFinite);
    else if (Number.isFinite(last) && Number.isFinite(trend)) points = [clamp(last - trend), last];
    else if (Number.isFinite(last)) points = [last];
    this.rooms.set(roomId, { points, seqs: new Set() });
  }
  add(roomId, seq, score) {
    if (!Number.isFinite(score)) return;
    const entry = this.rooms.get(roomId) || { points: [], seqs: new Set() };
    if (seq != null && entry.seqs.has(seq)) return;
    if (seq != null) entry.seqs.add(seq);
    entry.points.push(score);
    if (entry.points.length > this.limit) entry.points.splice(0, entry.points.length - this.limit);
    this.rooms.set(roomId, entry);
  }
  get(roomId) {
    return this.rooms.get(roomId)?.points ?? [];
  }
}

function clamp(x) {
  return Math.max(-1, Math.min(1, x));
}
