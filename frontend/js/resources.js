// Crisis resources: helplines and topics from /static/resources.json, which operators edit.
// Everything in it is shown as text; links are limited to tel:, sms: and https: so a typo or a
// bad edit cannot turn into a script link.

import { h } from "./dom.js";

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

let cached = null;
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

export async function loadResources() {
  if (cached) return cached;
  try {
    const response = await fetch("/static/resources.json", { cache: "no-cache" });
    if (!response.ok) throw new Error(String(response.status));
    const data = await response.json();
    cached = {
      emergency: data.emergency || FALLBACK.emergency,
      helplines: Array.isArray(data.helplines) ? data.helplines : [],
      topics: Array.isArray(data.topics) && data.topics.length ? data.topics : FALLBACK.topics,
    };
    for (const t of cached.topics) if (t && t.id && t.label) topicNames.set(String(t.id), String(t.label));
  } catch {
    cached = FALLBACK;
  }
  return cached;
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
              h("h3", { text: line.name || "Helpline" }),
              line.region ? h("p", { class: "muted", text: line.region }) : null,
              line.description ? h("p", { text: line.description }) : null,
              line.hours ? h("p", { class: "muted", text: line.hours }) : null,
              h(
                "p",
                { class: "helpline-actions" },
                line.phone ? link(telHref(line.phone), `Call ${line.phone}`) : null,
                line.sms ? link(`sms:${String(line.sms).replace(/[^0-9+]/g, "")}`, `Text ${line.sms}`) : null,
                line.url ? link(safeUrl(line.url), "Website", true) : null,
              ),
            ),
          ),
        )
      : h("p", { text: "No helplines are configured for this service." }),
  );
}
