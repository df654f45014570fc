// Small DOM helpers. All text goes in through textContent (never innerHTML), so whatever a
// person types is shown as text and cannot become markup or script.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return Array.from(root.querySelectorAll(selector));
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

export function show(el, visible = true) {
  el.hidden = !visible;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// --- time ---------------------------------------------------------------------------------

let timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

/** Show times in `locale` (the participant's chosen language); the browser's own until then. */
export function setTimeLocale(locale) {
  try {
    timeFormat = new Intl.DateTimeFormat(locale || undefined, { hour: "2-digit", minute: "2-digit" });
  } catch {
    /* an unknown locale keeps the browser's */
  }
}

export function clock(iso) {
  const date = iso ? new Date(iso) : new Date();
  return Number.isNaN(date.getTime()) ? "" : timeFormat.format(date);
}

/** "just now", "4 min", "1 h 12 min": short, for queues and dashboards. */
export function duration(ms, { short = false } = {}) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  const minutes = Math.floor(ms / 60000);
  if (minutes < 1) return short ? "<1 min" : "under a minute";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

export function since(iso) {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? NaN : Date.now() - t;
}

// --- live region ---------------------------------------------------------------------------

/** Say something to screen-reader users without moving focus. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A fresh text node after a tick makes repeated identical announcements heard again.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// --- storage -------------------------------------------------------------------------------

export function store(kind = "session") {
  const backend = kind === "local" ? window.localStorage : window.sessionStorage;
  return {
    get(key) {
      try {
        const raw = backend.getItem(key);
        return raw === null ? null : JSON.parse(raw);
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        backend.setItem(key, JSON.stringify(value));
      } catch {
        /* private mode or full: the page still works, it just won't resume after reload */
      }
    },
    remove(key) {
      try {
        backend.removeItem(key);
      } catch {
        /* ignore */
      }
    },
  };
}

/** A short human label for an opaque id (staff views only). */
export function shortId(id) {
  if (!id) return "";
  const s = String(id);
  return s.length > 10 ? `…${s.slice(-6)}` : s;
}
