// Quick exit: for someone who must hide this page at once (someone walks in). One tap on the
// always-visible "Exit" button, or Escape pressed three times within two seconds, blanks the
// page at once and replaces it with a neutral site. location.replace() swaps this page's entry
// in the tab's history for the neutral site, so the back button does not bring it back.
// The neutral site is a setting of the deployment (GET /api/v1/client-config); the button's
// href carries the default, so the exit works before that answer arrives, or without it.

import { clientConfig } from "./config.js";

const ESCAPES = 3;
const WINDOW_MS = 2000;

export function installQuickExit(button) {
  if (!button) return;
  let target = button.getAttribute("href");
  clientConfig().then((config) => {
    // Anything else keeps the default: the exit must always work.
    if (/^https?:\/\//.test(config.quick_exit_url || "")) {
      target = config.quick_exit_url;
      button.setAttribute("href", target);
    }
  });

  const leave = (event) => {
    event?.preventDefault();
    // Blank first, so nothing of the conversation stays on screen while the next site loads.
    document.title = "";
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    document.body.replaceChildren();
    document.body.className = "blank";
    location.replace(target);
  };
  button.addEventListener("click", leave);

  let presses = [];
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Escape" || event.repeat) return;
      const now = Date.now();
      presses = presses.filter((t) => now - t < WINDOW_MS);
      presses.push(now);
      if (presses.length >= ESCAPES) leave(event);
    },
    true,
  );
}
