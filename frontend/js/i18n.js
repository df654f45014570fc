// The participant page in the reader's language. Strings live in /static/i18n/<code>.json, keyed
// ("welcome.title"); /static/i18n/languages.json lists the languages offered, so adding one is a
// translation file and a line there, never a code change. A key missing from a translation reads
// in English, so a partial translation never shows a blank or a key.
//
// Static text in the HTML carries data-i18n="key" (its text) or data-i18n-attr="attr:key;attr:key"
// (aria-label, title, placeholder...); script text goes through t("key", {name: value}).

const STORE_KEY = "peerchat.language";
const FALLBACK = "en";
// Scripts written right to left: a language here gets <html dir="rtl"> with no code change.
const RTL = new Set(["ar", "arc", "ckb", "dv", "fa", "he", "ks", "ku", "ps", "sd", "ug", "ur", "yi"]);

let current = FALLBACK;
let strings = {};
let english = {};
let offered = { [FALLBACK]: "English" };

async function fetchJson(path) {
  try {
    const response = await fetch(path, { cache: "no-cache" });
    if (!response.ok) return null;
    const data = await response.json();
    return data && typeof data === "object" ? data : null;
  } catch {
    return null;
  }
}

function base(code) {
  return String(code || "").toLowerCase().split("-")[0];
}

/** The first of `wanted` (e.g. navigator.languages) that is offered, by full code or base code. */
export function pickLanguage(wanted, available) {
  const codes = Object.keys(available);
  for (const code of wanted || []) {
    const lower = String(code || "").toLowerCase();
    const exact = codes.find((c) => c.toLowerCase() === lower);
    if (exact) return exact;
    const same = codes.find((c) => base(c) === base(lower));
    if (same) return same;
  }
  return FALLBACK;
}

export function isRtl(code) {
  return RTL.has(base(code));
}

/** The language in use ("es"), for Intl formatting and for the API's `language`. */
export function language() {
  return current;
}

export function languages() {
  return { ...offered };
}

/**
 * The string for `key` in the current language, then English, then `fallback` (modules shared
 * with the staff pages, which load no translations, pass their English), then the key itself.
 */
export function t(key, vars = {}, fallback = undefined) {
  const template = strings[key] ?? english[key] ?? fallback ?? key;
  return String(template).replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** Put the current language's text into every data-i18n element under `root`. */
export function translatePage(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":").map((s) => s.trim());
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

function readStored() {
  try {
    return localStorage.getItem(STORE_KEY);
  } catch {
    return null;
  }
}

async function use(code) {
  const loaded = code === FALLBACK ? english : await fetchJson(`/static/i18n/${encodeURIComponent(code)}.json`);
  current = loaded ? code : FALLBACK;
  strings = loaded || english;
  const html = document.documentElement;
  html.lang = current;
  html.dir = isRtl(current) ? "rtl" : "ltr";
  translatePage();
  document.dispatchEvent(new CustomEvent("languagechange", { detail: { language: current } }));
}

/** Load the offered languages and English, then the reader's: the one they chose, else the browser's. */
export async function initI18n() {
  const [list, en] = await Promise.all([fetchJson("/static/i18n/languages.json"), fetchJson(`/static/i18n/${FALLBACK}.json`)]);
  if (list) offered = { [FALLBACK]: "English", ...list };
  english = en || {};
  const stored = readStored();
  const wanted = stored && offered[stored] ? [stored] : navigator.languages?.length ? navigator.languages : [navigator.language];
  await use(pickLanguage(wanted, offered));
  return current;
}

/** Switch language now and remember the choice on this device. */
export async function setLanguage(code) {
  if (!offered[code]) return;
  try {
    localStorage.setItem(STORE_KEY, code);
  } catch {
    /* private mode: the choice lasts for this page */
  }
  await use(code);
}

/** Fill a <select> with the offered languages, each named in its own language, and switch on change. */
export function bindSwitcher(select) {
  if (!select) return;
  select.replaceChildren(
    ...Object.entries(offered).map(([code, name]) => {
      const option = document.createElement("option");
      option.value = code;
      option.lang = code;
      option.textContent = name;
      return option;
    }),
  );
  select.value = current;
  const box = select.closest(".language-switch") || select;
  box.hidden = Object.keys(offered).length < 2;
  select.addEventListener("change", () => setLanguage(select.value));
  document.addEventListener("languagechange", () => {
    select.value = current;
  });
}
