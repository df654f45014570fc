// A gentle, optional check-in: how the participant feels when a one-to-one conversation starts
// and when it ends (POST /rooms/{id}/checkins). Skippable, never required; once answered or
// skipped it is not offered again for that conversation in this tab. The words and emoji come
// from GET /checkins/scale, the one source for every client.

import { friendlyMessage } from "./api.js";
import { $, announce, h, store } from "./dom.js";

const memory = store("session");
const DONE_KEY = "peerchat.checkins"; // {"<room_id>:<phase>": "sent" | "skipped"}

const TEXT = {
  start: {
    title: "How are you feeling right now?",
    thanks: "Thank you. Your supporter will be with you soon.",
  },
  end: {
    title: "Before you go: how are you feeling now?",
    thanks: "Thank you for letting us know. Take care of yourself.",
  },
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
 * waiting or active, "end" once it has closed. Safe to call on every render.
 */
export function offerCheckin(api, room) {
  const current = $(".checkin");
  if (!room || room.kind !== "one_to_one") {
    current?.remove();
    return;
  }
  const phase = room.status === "closed" ? "end" : "start";
  const key = `${room.room_id}:${phase}`;
  if (current?.dataset.key === key) return;
  current?.remove();
  if (settled(room.room_id, phase)) return;
  const card = h("section", {
    class: "card checkin",
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
  const words = TEXT[phase];
  const error = h("p", { class: "form-error", role: "alert" });
  const commentId = `checkin-comment-${phase}`;
  const comment = h("textarea", { id: commentId, rows: 2, maxlength: scale.comment_max_chars });
  const choices = scale.scale.map((step) =>
    h(
      "label",
      { class: "chip" },
      h("input", { type: "radio", name: `mood-${phase}`, value: step.mood }),
      h("span", {}, h("span", { "aria-hidden": "true", text: `${step.emoji} ` }), step.label),
    ),
  );
  const skip = h("button", { type: "button", class: "btn ghost small", text: "Skip" });
  const send = h("button", { type: "submit", class: "btn primary small", text: "Send" });
  const form = h(
    "form",
    { class: "checkin-form" },
    h(
      "fieldset",
      { class: "topics" },
      h("legend", { class: "visually-hidden", text: words.title }),
      h("div", { class: "chips" }, choices),
    ),
    h("label", { for: commentId }, "Anything you'd like to add? ", h("span", { class: "muted", text: "(optional)" })),
    comment,
    h("div", { class: "row" }, send, skip),
    error,
  );
  card.replaceChildren(
    h("h2", { id: `checkin-title-${phase}`, text: words.title }),
    h("p", {
      class: "muted",
      text: "Optional: it helps us learn whether peer support helps. Only your answer is kept; any words you add are read only by the team that runs this service.",
    }),
    form,
  );
  skip.addEventListener("click", () => {
    settle(roomId, phase, "skipped");
    card.remove();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.querySelector("input[type=radio]:checked");
    if (!chosen) {
      error.textContent = "Choose how you feel, or press Skip.";
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
      card.replaceChildren(h("p", { class: "checkin-thanks", role: "status", text: words.thanks }));
      announce(words.thanks);
    } catch (failure) {
      error.textContent = friendlyMessage(failure);
      send.disabled = false;
    }
  });
}
