// A gentle, optional check-in: how the participant feels when a one-to-one conversation starts
// and when it ends (POST /rooms/{id}/checkins). Small on purpose: one line of mood chips and a
// "Not now" button, so that it never takes over the conversation on a phone; the few optional
// words and the send button appear only once a mood is chosen. Never offered in a conversation
// where the participant asked for help: then it is the last thing they need. Once answered or
// dismissed it is not offered again for that conversation in this tab, and its "thank you"
// fades by itself. The words and emoji come from GET /checkins/scale, the one source for every
// client.

import { friendlyMessage } from "./api.js";
import { $, announce, h, store } from "./dom.js";
import { t } from "./i18n.js";

const memory = store("session");
const DONE_KEY = "peerchat.checkins"; // {"<room_id>:<phase>": "sent" | "skipped"}
const THANKS_MS = 4000; // how long the "thank you" line stays

// Keys in the page's translations (frontend/i18n/*.json).
const TEXT = {
  start: { title: "checkin.start_title", thanks: "checkin.start_thanks" },
  end: { title: "checkin.end_title", thanks: "checkin.end_thanks" },
};

let scalePromise = null;

function loadScale(api) {
  scalePromise ||= api.get("/checkins/scale").catch((error) => {
    scalePromise = null;
    throw error;
  });
  return scalePromise;
}

function settled(roomId, phase) {
  return Boolean((memory.get(DONE_KEY) || {})[`${roomId}:${phase}`]);
}

function settle(roomId, phase, how) {
  const done = memory.get(DONE_KEY) || {};
  done[`${roomId}:${phase}`] = how;
  memory.set(DONE_KEY, done);
}

/**
 * Show the check-in that fits the room now, if any: "start" while a one-to-one conversation is
 * waiting or active, "end" once it has closed; none at all once the participant asked for help
 * in this room (`helped`). Safe to call on every render.
 */
export function offerCheckin(api, room, { helped = false } = {}) {
  const current = $(".checkin");
  if (!room || room.kind !== "one_to_one" || helped) {
    if (current && !current.classList.contains("thanked")) current.remove();
    return;
  }
  const phase = room.status === "closed" ? "end" : "start";
  const key = `${room.room_id}:${phase}`;
  if (current?.dataset.key === key) return;
  current?.remove();
  if (settled(room.room_id, phase)) return;
  const card = h("section", {
    class: "checkin",
    dataset: { key, phase },
    "aria-labelledby": `checkin-title-${phase}`,
  });
  const place = phase === "start" ? $("#chat-log") : $("#ended p");
  if (!place) return;
  if (phase === "start") place.before(card);
  else place.after(card);
  loadScale(api)
    .then((scale) => {
      if (card.isConnected) fill(card, api, room.room_id, phase, scale);
    })
    .catch(() => card.remove()); // optional: if it cannot load, don't stand in the way
}

function fill(card, api, roomId, phase, scale) {
  const words = { title: t(TEXT[phase].title), thanks: t(TEXT[phase].thanks) };
  const error = h("p", { class: "form-error", role: "alert" });
  const commentId = `checkin-comment-${phase}`;
  const noteId = `checkin-note-${phase}`;
  const comment = h("input", {
    id: commentId,
    type: "text",
    maxlength: scale.comment_max_chars,
    autocomplete: "off",
    "aria-describedby": noteId,
  });
  const choices = scale.scale.map((step) =>
    h(
      "label",
      { class: "mood" },
      h("input", { type: "radio", name: `mood-${phase}`, value: step.mood }),
      h("span", { class: "mood-face", "aria-hidden": "true", text: step.emoji }),
      h("span", { class: "mood-label", text: t(`checkin.mood.${step.mood}`, {}, step.label) }),
    ),
  );
  const dismiss = h("button", {
    type: "button",
    class: "btn ghost small checkin-dismiss",
    "aria-label": t("checkin.dismiss_label"),
    title: t("help.not_now"),
    text: t("help.not_now"),
  });
  const send = h("button", { type: "submit", class: "btn primary small", text: t("chat.send") });
  // Shown only once a mood is chosen, so the card stays one line of faces until then.
  const more = h(
    "div",
    { class: "checkin-more", hidden: true },
    h("label", { for: commentId }, `${t("checkin.add")} `, h("span", { class: "muted", text: t("optional") })),
    h("div", { class: "checkin-send" }, comment, send),
    h("p", {
      id: noteId,
      class: "muted checkin-note",
      text: t("checkin.privacy"),
    }),
  );
  const form = h(
    "form",
    { class: "checkin-form" },
    h(
      "fieldset",
      {},
      h("legend", { class: "visually-hidden", text: words.title }),
      h("div", { class: "moods" }, choices),
    ),
    more,
    error,
  );
  card.replaceChildren(
    h(
      "div",
      { class: "checkin-head" },
      h("h2", { id: `checkin-title-${phase}`, text: words.title }),
      dismiss,
    ),
    form,
  );
  form.addEventListener("change", () => {
    more.hidden = false;
    error.textContent = "";
  });
  dismiss.addEventListener("click", () => {
    settle(roomId, phase, "skipped");
    const composer = document.getElementById("composer-input");
    card.remove();
    // Focus must not drop to <body>: the conversation is where the person was going.
    if (phase === "start" && composer && !composer.disabled) composer.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[type=radio]:checked");
    if (!chosen) {
      error.textContent = t("checkin.choose");
      return;
    }
    error.textContent = "";
    send.disabled = true;
    const body = { phase, mood: Number(chosen.value) };
    const text = comment.value.trim();
    if (text) body.comment = text;
    try {
      await api.post(`/rooms/${encodeURIComponent(roomId)}/checkins`, body);
      settle(roomId, phase, "sent");
      card.classList.add("thanked");
      card.replaceChildren(h("p", { class: "checkin-thanks", role: "status", text: words.thanks }));
      announce(words.thanks);
      const composer = document.getElementById("composer-input");
      if (phase === "start" && composer && !composer.disabled) composer.focus();
      setTimeout(() => card.remove(), THANKS_MS);
    } catch (failure) {
      error.textContent = friendlyMessage(failure);
      send.disabled = false;
    }
  });
}
