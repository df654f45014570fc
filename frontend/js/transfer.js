// "Hand over this conversation": pick a peer supporter from GET /staff?role=peer_worker (with
// how many conversations each holds now) and POST /rooms/{id}/transfer. If the list can't be
// had, the dialog falls back to asking for the colleague's user id.

import { friendlyMessage } from "./api.js";
import { $, h } from "./dom.js";
import { openModal } from "./ui.js";

/** Peer workers with their load, least busy first; null when the list can't be read. */
export async function peerWorkers(api) {
  try {
    const { staff = [] } = await api.get("/staff?role=peer_worker");
    return staff
      .filter((u) => u && u.user_id && (!u.role || u.role === "peer_worker"))
      .sort((a, b) => (a.active_rooms || 0) - (b.active_rooms || 0) || String(a.handle).localeCompare(String(b.handle)));
  } catch {
    return null;
  }
}

function loadWords(n) {
  const count = Number(n) || 0;
  if (!count) return "free now";
  return `${count} ${count === 1 ? "conversation" : "conversations"} now`;
}

/**
 * Resolves true when the room was handed over, false when cancelled.
 * excludeUserIds: people not to offer (yourself, or whoever holds the room now).
 */
export async function transferDialog(api, roomId, { excludeUserId, excludeUserIds = [] } = {}) {
  const dialog = $("#transfer-dialog");
  const field = $("#transfer-field");
  const error = $("#transfer-error");
  const submit = dialog.querySelector("button[type=submit]");
  error.textContent = "";
  const skip = new Set([excludeUserId, ...excludeUserIds].filter(Boolean));
  const all = await peerWorkers(api);
  const users = all?.filter((u) => !skip.has(u.user_id));
  let input;
  submit.disabled = false;
  if (users && users.length) {
    input = h(
      "select",
      { id: "transfer-to", required: true, "aria-describedby": "transfer-help" },
      h("option", { value: "", text: "Choose a peer supporter" }),
      users.map((u) =>
        h("option", { value: u.user_id, text: `${u.handle || u.user_id} (${loadWords(u.active_rooms)})` }),
      ),
    );
    field.replaceChildren(
      h("label", { for: "transfer-to", text: "Hand over to" }),
      input,
      h("p", { id: "transfer-help", class: "muted small-print", text: "Least busy first. Each peer supporter can hold a few conversations at once." }),
    );
  } else if (users) {
    // The list worked: there is simply nobody else.
    input = null;
    submit.disabled = true;
    field.replaceChildren(h("p", { class: "muted", text: "No other peer supporter is available to take this conversation." }));
  } else {
    input = h("input", { id: "transfer-to", type: "text", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "transfer-help" });
    field.replaceChildren(
      h("label", { for: "transfer-to", text: "Colleague's user id" }),
      input,
      h("p", { id: "transfer-help", class: "muted small-print", text: "We couldn't load the list of peer supporters. Ask your colleague for their user id." }),
    );
  }
  const form = dialog.querySelector("form");
  const cancel = dialog.querySelector("[data-action=cancel]");
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onCancel);
      if (dialog.open) dialog.close();
      submit.disabled = false;
      resolve(value);
    };
    const onCancel = () => finish(false);
    const onSubmit = async (event) => {
      event.preventDefault();
      const to = input?.value.trim();
      if (!to) return;
      submit.disabled = true;
      try {
        await api.post(`/rooms/${encodeURIComponent(roomId)}/transfer`, { to_user_id: to });
        finish(true);
      } catch (err) {
        error.textContent = friendlyMessage(err);
        submit.disabled = false;
      }
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", onCancel);
    openModal(dialog);
    (input || cancel).focus();
  });
}
