// HTTP client for /api/v1: JSON in and out, bearer token, and the one error format
// ({"error": {"code", "detail", ...}}) turned into an ApiError the pages can show as is.

import { t } from "./i18n.js";

const PREFIX = "/api/v1";

export class ApiError extends Error {
  constructor(status, code, detail, extra = {}) {
    super(detail || code || `request failed (${status})`);
    this.name = "ApiError";
    this.status = status; // 0 when the network itself failed
    this.code = code;
    this.detail = detail;
    this.extra = extra; // e.g. room_id on a 409 for an already open support request
  }
  get offline() {
    return this.status === 0;
  }
}

// Words a person can act on, for failures whose server detail is not meant for them.
const FRIENDLY = {
  0: "We couldn't reach peerchat. Check your connection and try again.",
  429: "That was a lot of requests at once. Please wait a moment and try again.",
  500: "Something went wrong on our side. Please try again.",
  503: "peerchat is busy right now. Please try again in a moment.",
};

// Refusals the server names with a `reason`, said the way the person needs to hear them.
const REASONS = {
  at_capacity: ({ held, max_rooms: max }) =>
    Number.isInteger(max)
      ? `You're supporting ${held ?? max} of ${max} conversations, the most at once. Close or hand over one to claim another.`
      : "You're supporting as many conversations as you can at once. Close or hand over one to claim another.",
  already_claimed: () => "Someone else has just claimed this conversation.",
  closed: () => t("error.closed", {}, "This conversation has already ended."),
};

/**
 * A server text as a sentence for people: a capital first letter and a full stop, field names
 * as words ("to_user_id" reads "to user id"). Server details are written for client authors;
 * nothing should reach a screen as a lowercase fragment.
 */
export function sentence(text) {
  let s = String(text || "").trim().replace(/\b([a-z]+)_([a-z_]+)\b/g, (m) => m.replace(/_/g, " "));
  if (!s) return "";
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?…]$/.test(s) ? s : `${s}.`;
}

export function friendlyMessage(error) {
  if (!(error instanceof ApiError)) return t("error.generic", {}, "Something went wrong. Please try again.");
  const byReason = REASONS[error.extra?.reason];
  if (byReason) return byReason(error.extra);
  const status = FRIENDLY[error.status] ? error.status : error.detail ? null : 500;
  return status === null ? sentence(error.detail) : t(`error.${status}`, {}, FRIENDLY[status]);
}

export class Api {
  constructor({ getToken = () => null, onUnauthorized = () => {}, timeoutMs = 15000 } = {}) {
    this.getToken = getToken;
    this.onUnauthorized = onUnauthorized;
    this.timeoutMs = timeoutMs;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    init.signal = controller.signal;
    let response;
    try {
      response = await fetch(path.startsWith("/api/") ? path : PREFIX + path, init);
    } catch {
      throw new ApiError(0, "network", FRIENDLY[0]);
    } finally {
      clearTimeout(timer);
    }
    const data = await readJson(response);
    if (response.ok) return data ?? {};
    const err = (data && data.error) || {};
    const { code, detail, ...extra } = err;
    const error = new ApiError(response.status, code || "http_" + response.status, detail, extra);
    if (response.status === 401 && token) this.onUnauthorized(error);
    throw error;
  }

  get(path) { return this.request("GET", path); }
  post(path, body = {}) { return this.request("POST", path, body); }
  put(path, body = {}) { return this.request("PUT", path, body); }
  delete(path) { return this.request("DELETE", path); }
}

async function readJson(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Room history, page by page: storage is the source of truth for anything the socket missed.
export async function fetchMessages(api, roomId, afterSeq = 0, pageSize = 200) {
  const all = [];
  let after = afterSeq;
  for (let page = 0; page < 50; page += 1) {
    const query = `?after_seq=${after}&limit=${pageSize}`;
    const { messages = [] } = await api.get(`/rooms/${encodeURIComponent(roomId)}/messages${query}`);
    all.push(...messages);
    if (messages.length < pageSize) break;
    after = messages[messages.length - 1].seq;
  }
  return all;
}

/**
 * Keeps a view from going backwards. A read's reply and a live frame travel different ways and
 * can arrive in any order; an older reply drawn after a newer frame (or after a later read's
 * reply) would undo it, a help press's crisis say. So each read and each frame takes a mark,
 * and a reply is drawn only while its read's mark is still the latest:
 *
 *   const mark = news.mark(); const reply = await api.get(...); if (!news.latest(mark)) return;
 */
export class Newest {
  #marks = 0;

  /** A read is starting, or a frame is being drawn: anything marked before it is older. */
  mark() {
    this.#marks += 1;
    return this.#marks;
  }

  /** Whether nothing was marked after `mark`. */
  latest(mark) {
    return mark === this.#marks;
  }
}
