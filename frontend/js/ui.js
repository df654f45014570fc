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
        banner.textContent = words.ready || "Connected again.";
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
export function confirmDialog({
  title,
  body,
  confirm = "OK",
  cancel = "Cancel",
  danger = false,
  focusConfirm = false,
}) {
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
    openModal(dialog);
    // Usually the safe choice has focus first; where saying yes is the safe choice (asking
    // for help), Enter must not cancel it.
    (focusConfirm ? yes : no).focus();
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
    openModal(dialog);
    input.focus();
  });
}

/**
 * Open a modal dialog and, when it closes (a button, Escape, or code), put focus back on what
 * opened it, so keyboard and screen-reader users carry on where they were instead of at the
 * top of the page.
 */
export function openModal(dialog) {
  const opener = document.activeElement;
  if (!dialog.open) dialog.showModal();
  if (!opener || opener === document.body || dialog.contains(opener)) return;
  dialog.addEventListener(
    "close",
    () => {
      // After the closing handlers have run: one of them may have moved focus on purpose.
      setTimeout(() => {
        const now = document.activeElement;
        const lost = !now || now === document.body || now.closest?.("dialog:not([open])");
        if (lost && opener.isConnected && !opener.closest("[hidden]")) opener.focus();
      }, 0);
    },
    { once: true },
  );
}

const TOASTS_SHOWN = 2; // more at once would pile up over the page

/**
 * A short message (role=status, so it is read out politely). The strip sits in the page's
 * flow at the foot of the top bar: it pushes the page down for a moment instead of lying over
 * the conversation or the composer, and shows at most two at once (the oldest goes first).
 */
export function toast(text, kind = "info") {
  let region = document.getElementById("toasts");
  if (!region) {
    region = h("div", { id: "toasts", class: "toasts", role: "status", "aria-live": "polite" });
    const bar = document.querySelector(".topbar");
    if (bar) bar.append(region);
    else document.body.prepend(region);
  }
  for (const old of [...region.children].slice(0, -(TOASTS_SHOWN - 1) || undefined)) old.remove();
  const item = h("p", { class: `toast ${kind}`, text });
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 7000 : 4000);
}

/**
 * Hold a button while an async action runs, so a double tap does not do it twice. The button
 * is marked aria-disabled rather than disabled: a disabled button loses focus, and a dialog the
 * action opens could then not hand focus back to it.
 */
export async function busy(button, action) {
  if (button.dataset.busy === "true" || button.disabled) return undefined;
  button.dataset.busy = "true";
  button.setAttribute("aria-disabled", "true");
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    delete button.dataset.busy;
    button.removeAttribute("aria-disabled");
    button.removeAttribute("aria-busy");
  }
}
