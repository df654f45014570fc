// Crisis resources: helplines and topics from /static/resources.json, which operators edit.
// The file is keyed by language ("en", "es", ...): each reader gets the helplines of their
// language, and any part a language leaves out (its emergency line, helplines or topics) is
// taken from "en". Everything in it is shown as text; links are limited to tel:, sms: and
// https: so a typo or a bad edit cannot turn into a script link.

import { h } from "./dom.js";
import { t } from "./i18n.js";

const FALLBACK = {
  emergency: { label: "In immediate danger? Call your local emergency number", numbers: [] },
  helplines: [],
  topics: [
    { id: "anxiety", label: "Anxiety or worry" },
    { id: "low-mood", label: "Low mood" },
    { id: "loneliness", label: "Loneliness" },
    { id: "other", label: "Something else" },
  ],
};

const DEFAULT_LANGUAGE = "en";
const cache = new Map(); // language -> resources
const topicNames = new Map(FALLBACK.topics.map((t) => [t.id, t.label]));

/**
 * A topic as people read it ("Low mood", "Anxiety or worry"), never its id ("low-mood"): the
 * labels come from resources.json once loaded; an id it does not name reads as words.
 */
export function topicName(id) {
  if (!id) return "";
  const known = topicNames.get(String(id));
  if (known) return known;
  const words = String(id).replace(/[-_]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** One language's part of resources.json, completed from English; a file without language
 * keys (the older, single-language form) is read as English. */
export function resourcesFor(data, language = DEFAULT_LANGUAGE) {
  const english = data?.[DEFAULT_LANGUAGE] || (data?.helplines || data?.emergency ? data : {});
  const own = data?.[language] || (String(language).includes("-") ? data?.[String(language).split("-")[0]] : null) || {};
  const pick = (field, ok) => (ok(own[field]) ? own[field] : ok(english[field]) ? english[field] : null);
  const list = (value) => Array.isArray(value) && value.length > 0;
  return {
    emergency: pick("emergency", (v) => v && typeof v === "object") || FALLBACK.emergency,
    helplines: pick("helplines", list) || [],
    topics: pick("topics", list) || FALLBACK.topics,
  };
}

export async function loadResources(language = DEFAULT_LANGUAGE) {
  if (cache.has(language)) return cache.get(language);
  let resources;
  try {
    const response = await fetch("/static/resources.json", { cache: "no-cache" });
    if (!response.ok) throw new Error(String(response.status));
    resources = resourcesFor(await response.json(), language);
    cache.set(language, resources);
  } catch {
    resources = FALLBACK;
  }
  for (const topic of resources.topics) {
    if (topic && topic.id && topic.label) topicNames.set(String(topic.id), String(topic.label));
  }
  return resources;
}

function telHref(number) {
  const digits = String(number).replace(/[^0-9+]/g, "");
  return digits ? `tel:${digits}` : null;
}

function safeUrl(url) {
  try {
    const parsed = new URL(String(url));
    return parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function link(href, text, external = false) {
  if (!href) return null;
  const props = { href, class: "btn small outline", text };
  if (external) Object.assign(props, { target: "_blank", rel: "noopener noreferrer" });
  return h("a", props);
}

/** Render the emergency line and helplines into `root`. */
export function renderResources(root, resources) {
  const { emergency, helplines } = resources;
  const numbers = (emergency.numbers || []).map((n) =>
    h("li", {}, link(telHref(n.phone), `${n.phone}`), h("span", { text: ` ${n.region || ""}` })),
  );
  root.replaceChildren(
    h(
      "div",
      { class: "emergency" },
      h("p", { class: "emergency-label", text: emergency.label }),
      numbers.length ? h("ul", { class: "emergency-numbers" }, numbers) : null,
    ),
    helplines.length
      ? h(
          "ul",
          { class: "helplines" },
          helplines.map((line) =>
            h(
              "li",
              { class: "helpline" },
              h("h3", { text: line.name || t("resources.helpline", {}, "Helpline") }),
              line.region ? h("p", { class: "muted", text: line.region }) : null,
              line.description ? h("p", { text: line.description }) : null,
              line.hours ? h("p", { class: "muted", text: line.hours }) : null,
              h(
                "p",
                { class: "helpline-actions" },
                line.phone ? link(telHref(line.phone), t("resources.call", { number: line.phone }, "Call {number}")) : null,
                line.sms
                  ? link(`sms:${String(line.sms).replace(/[^0-9+]/g, "")}`, t("resources.text", { number: line.sms }, "Text {number}"))
                  : null,
                line.url ? link(safeUrl(line.url), t("resources.website", {}, "Website"), true) : null,
              ),
            ),
          ),
        )
      : h("p", { text: t("resources.none", {}, "No helplines are configured for this service.") }),
  );
}

/**
 * The resources of a `support` frame ({name, phone?, text?, url?, hours?}) as a short list of
 * tap-to-call, tap-to-text and website links. `text` is a number to text when it is one, and
 * otherwise words about the line (how to use it).
 */
export function supportResourceList(resources) {
  const items = (Array.isArray(resources) ? resources : []).filter((r) => r && (r.name || r.phone || r.url));
  if (!items.length) return null;
  const isNumber = (v) => /^[\d\s+()-]{2,}$/.test(String(v || "").trim());
  return h(
    "ul",
    { class: "support-resources" },
    items.map((r) =>
      h(
        "li",
        { class: "support-resource" },
        h("p", { class: "support-resource-name" }, h("strong", { text: r.name || t("resources.helpline", {}, "Helpline") }), r.hours ? h("span", { class: "muted", text: ` · ${r.hours}` }) : null),
        r.text && !isNumber(r.text) ? h("p", { class: "muted", text: String(r.text) }) : null,
        h(
          "p",
          { class: "helpline-actions" },
          r.phone ? link(telHref(r.phone), t("resources.call", { number: r.phone }, "Call {number}")) : null,
          r.text && isNumber(r.text) ? link(`sms:${String(r.text).replace(/[^0-9+]/g, "")}`, t("resources.text", { number: r.text }, "Text {number}")) : null,
          r.sms ? link(`sms:${String(r.sms).replace(/[^0-9+]/g, "")}`, t("resources.text", { number: r.sms }, "Text {number}")) : null,
          r.url ? link(safeUrl(r.url), t("resources.website", {}, "Website"), true) : null,
        ),
      ),
    ),
  );
}
