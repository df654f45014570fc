// Pieces of page furniture shared by the three pages: the connection banner, dialogs, toasts.

import { h } from "./dom.js";

const CONNECTION_TEXT = {
  connecting: "Connecting…",
  waiting: "Reconnecting… anything you write will be sent when we're back.",
  offline: "You're offline. Anything you write will be sent when you reconnect.",
  unauthorized: "Your session has ended. Please sign in again.",
};

/** Keep a calm status line in step with the socket; hidden while all is well. */
export function bindConnectionBanner(banner, socket, texts = {}) {
  const words = { ...CONNECTION_TEXT, ...texts };
  let shownAt = 0;
  let timer = 0;
  socket.addEventListener("status", ({ detail }) => {
    clearTimeout(timer);
    banner.dataset.state = detail.status;
    if (detail.status === "ready") {
      // Don't flash a banner for a quick first connect; confirm a real recovery briefly.
      if (!banner.hidden && Date.now() - shownAt > 800) {
        banner.textContent = "Connected again.";
        timer = setTimeout(() => (banner.hidden = true), 2500);
      } else banner.hidden = true;
      return;
    }
    const text = words[detail.status];
    if (!text) return;
    // The first connection attempt stays quiet unless it takes a while.
    const delay = detail.status === "connecting" && banner.hidden ? 1500 : 0;
    timer = setTimeout(() => {
      if (banner.hidden) shownAt = Date.now();
      banner.textContent = text;
      banner.hidden = false;
    }, delay);
  });
}

/**
 * A modal yes/no question in the page's <dialog id="confirm-dialog">. Resolves true/false.
 * The dialog's markup lives in the page so it is styled and labelled like everything else.
 */
export function confirmDialog({ title, body, confirm = "OK", cancel = "Cancel", danger = false }) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector(".dialog-title").textContent = title;
  const bodyEl = dialog.querySelector(".dialog-body");
  bodyEl.replaceChildren(...[].concat(body).map((p) => (p instanceof Node ? p : h("p", { text: p }))));
  const yes = dialog.querySelector("[data-action=confirm]");
  const no = dialog.querySelector("[data-action=cancel]");
  yes.textContent = confirm;
  yes.className = `btn ${danger ? "danger" : "primary"}`;
  no.textContent = cancel;
  return new Promise((resolve) => {
    const done = (value) => {
      yes.removeEventListener("click", onYes);
      no.removeEventListener("click", onNo);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onYes = () => done(true);
    const onNo = () => done(false);
    const onClose = () => done(false);
    yes.addEventListener("click", onYes);
    no.addEventListener("click", onNo);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    no.focus(); // the safe choice has focus first
  });
}

/**
 * A modal form asking for optional notes (close a room, resolve an alert). Resolves to the
 * text (possibly "") or null when cancelled.
 */
export function notesDialog({ title, label, confirm }) {
  const dialog = document.getElementById("notes-dialog");
  dialog.querySelector(".dialog-title").textContent = title;
  dialog.querySelector("label[for=notes-input]").textContent = label;
  const input = dialog.querySelector("#notes-input");
  const yes = dialog.querySelector("[data-action=confirm]");
  yes.textContent = confirm;
  input.value = "";
  return new Promise((resolve) => {
    const form = dialog.querySelector("form");
    const onSubmit = (event) => {
      event.preventDefault();
      finish(input.value.trim());
    };
    const onCancel = () => finish(null);
    const cancelBtn = dialog.querySelector("[data-action=cancel]");
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      cancelBtn.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    form.addEventListener("submit", onSubmit);
    cancelBtn.addEventListener("click", onCancel);
    dialog.addEventListener("close", onCancel);
    dialog.showModal();
    input.focus();
  });
}

/** A short message at the bottom of the screen (role=status, so it is read out politely). */
export function toast(text, kind = "info") {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const item = h("p", { class: `toast ${kind}`, text });
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 7000 : 4000);
}

/** Disable a button while an async action runs, so a double tap does not do it twice. */
export async function busy(button, action) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
