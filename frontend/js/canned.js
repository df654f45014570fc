// Saved replies ("canned responses") for staff. In a conversation's composer, Ctrl+K (or "/" in
// an empty box, or the Replies button) opens a short list; typing filters it, arrows move,
// Enter or a click puts the reply into the box, where it can be edited before sending: nothing
// is ever sent by the picker itself. Supervisors and admins manage the list on their page
// (mountCannedAdmin). GET/POST/PUT/DELETE /api/v1/canned-responses.

import { friendlyMessage } from "./api.js";
import { h } from "./dom.js";
import { confirmDialog, openModal, toast } from "./ui.js";

const FRESH_MS = 30_000;
let cache = null; // {at, promise}

function loadCanned(api, { fresh = false } = {}) {
  if (fresh || !cache || Date.now() - cache.at > FRESH_MS) {
    const promise = api.get("/canned-responses").then((r) => r.canned_responses || []);
    cache = { at: Date.now(), promise };
    promise.catch(() => (cache = null));
  }
  return cache.promise;
}

let pickers = 0;

/** Add the picker to one composer form (its textarea and submit button already there). */
export function attachCannedPicker({ api, form, input }) {
  const n = (pickers += 1);
  const listId = `canned-list-${n}`;
  const opener = h("button", {
    type: "button",
    class: "btn ghost small canned-open",
    "aria-haspopup": "listbox",
    "aria-expanded": "false",
    "aria-keyshortcuts": "Control+K",
    title: "Saved replies (Ctrl+K, or / in an empty box)",
    text: "Replies",
  });
  const search = h("input", {
    type: "text",
    class: "canned-search",
    role: "combobox",
    "aria-label": "Find a saved reply",
    "aria-controls": listId,
    "aria-expanded": "true",
    "aria-autocomplete": "list",
    placeholder: "Find a saved reply…",
    autocomplete: "off",
  });
  const list = h("ul", { id: listId, role: "listbox", class: "canned-list", "aria-label": "Saved replies" });
  const status = h("p", { class: "canned-status muted" });
  const panel = h("div", { class: "canned-picker", hidden: true }, search, list, status);
  form.classList.add("has-canned");
  form.prepend(opener);
  form.append(panel);

  let items = [];
  let shown = [];
  let active = 0;

  const render = () => {
    const words = search.value.trim().toLowerCase();
    shown = items.filter((it) => !words || `${it.title} ${it.body}`.toLowerCase().includes(words));
    active = Math.min(active, Math.max(shown.length - 1, 0));
    list.replaceChildren(
      ...shown.map((it, i) =>
        h(
          "li",
          {
            id: `${listId}-${i}`,
            role: "option",
            class: "canned-option",
            "aria-selected": i === active ? "true" : "false",
            onmousedown: (e) => e.preventDefault(), // keep focus in the search box
            onclick: () => choose(i),
          },
          h("strong", { text: it.title }),
          h("span", { class: "canned-preview", text: it.body }),
        ),
      ),
    );
    if (shown.length) search.setAttribute("aria-activedescendant", `${listId}-${active}`);
    else search.removeAttribute("aria-activedescendant");
    status.textContent = items.length && !shown.length ? "No saved reply matches." : "";
    list.children[active]?.scrollIntoView({ block: "nearest" });
  };

  const open = async () => {
    if (input.disabled) return;
    panel.hidden = false;
    opener.setAttribute("aria-expanded", "true");
    search.value = "";
    active = 0;
    status.textContent = "Loading…";
    search.focus();
    try {
      items = await loadCanned(api);
      status.textContent = items.length ? "" : "No saved replies yet. Supervisors can add them.";
    } catch (error) {
      items = [];
      status.textContent = friendlyMessage(error);
    }
    render();
  };

  const close = (focusBox = true) => {
    panel.hidden = true;
    opener.setAttribute("aria-expanded", "false");
    if (focusBox) input.focus();
  };

  const choose = (i) => {
    const it = shown[i];
    if (!it) return;
    close();
    // Into the box at the cursor (replacing any selection), to be edited before sending.
    const start = input.selectionStart ?? input.value.length;
    const end = input.selectionEnd ?? start;
    input.value = input.value.slice(0, start) + it.body + input.value.slice(end);
    const caret = start + it.body.length;
    input.setSelectionRange(caret, caret);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.focus();
  };

  opener.addEventListener("click", () => (panel.hidden ? open() : close()));
  input.addEventListener("keydown", (event) => {
    const ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
    const slash = event.key === "/" && !input.value && !event.ctrlKey && !event.metaKey;
    if (ctrlK || slash) {
      event.preventDefault();
      open();
    }
  });
  search.addEventListener("input", () => {
    active = 0;
    render();
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : -1) + shown.length) % shown.length;
      render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      choose(active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // closes the picker only
      close();
    } else if (event.key === "Tab") {
      close(false);
    }
  });
  search.addEventListener("blur", () => {
    setTimeout(() => {
      if (!panel.contains(document.activeElement)) close(false);
    }, 150);
  });
}

// --- managing them (supervisors and admins) ---------------------------------------------------

/** A "Saved replies" section on the supervisor's page: add, edit, remove. */
export function mountCannedAdmin({ api, parent }) {
  const list = h("ul", { class: "canned-admin-list" });
  const add = h("button", { type: "button", class: "btn outline small", text: "Add a reply" });
  const section = h(
    "section",
    { id: "canned-admin", class: "canned-admin", "aria-labelledby": "canned-admin-title" },
    h(
      "div",
      { class: "pane-head" },
      h("h2", { id: "canned-admin-title", text: "Saved replies" }),
      h("p", {
        class: "muted",
        text: "Peer supporters insert these with Ctrl+K in a conversation and can edit them before sending. Every change is recorded.",
      }),
    ),
    list,
    add,
  );
  parent.append(section);

  const refresh = async () => {
    try {
      const items = await loadCanned(api, { fresh: true });
      list.replaceChildren(
        ...items.map((it) =>
          h(
            "li",
            { class: "canned-admin-item", dataset: { cannedId: it.id } },
            h("div", {}, h("h3", { text: it.title }), h("p", { class: "canned-preview", text: it.body })),
            h(
              "div",
              { class: "row" },
              h("button", {
                type: "button",
                class: "btn ghost small",
                text: "Edit",
                "aria-label": `Edit ${it.title}`,
                onclick: () => edit(it),
              }),
              h("button", {
                type: "button",
                class: "btn ghost small",
                text: "Remove",
                "aria-label": `Remove ${it.title}`,
                onclick: () => remove(it),
              }),
            ),
          ),
        ),
      );
      if (!items.length) list.replaceChildren(h("li", { class: "muted", text: "No saved replies yet." }));
    } catch (error) {
      list.replaceChildren(h("li", { class: "muted", text: friendlyMessage(error) }));
    }
  };

  const edit = async (item = null) => {
    const saved = await replyDialog(api, item);
    if (saved) {
      toast(item ? "Saved reply updated." : "Saved reply added.");
      refresh();
    }
  };

  const remove = async (item) => {
    const ok = await confirmDialog({
      title: `Remove "${item.title}"?`,
      body: "Peer supporters will no longer see it in their saved replies.",
      confirm: "Remove",
      cancel: "Keep it",
      danger: true,
    });
    if (!ok) return;
    try {
      await api.delete(`/canned-responses/${encodeURIComponent(item.id)}`);
      toast("Saved reply removed.");
      refresh();
    } catch (error) {
      toast(friendlyMessage(error), "error");
    }
  };

  add.addEventListener("click", () => edit(null));
  refresh();
}

let dialogEl = null;

function replyDialog(api, item) {
  if (!dialogEl) {
    dialogEl = h(
      "dialog",
      { id: "canned-dialog", "aria-labelledby": "canned-dialog-title" },
      h(
        "form",
        { class: "dialog-inner" },
        h("h2", { id: "canned-dialog-title", class: "dialog-title" }),
        h("label", { for: "canned-title", text: "Title (what peer supporters look for)" }),
        h("input", { id: "canned-title", type: "text", maxlength: 80, required: true, autocomplete: "off" }),
        h("label", { for: "canned-body", text: "Reply" }),
        h("textarea", { id: "canned-body", rows: 5, required: true }),
        h("p", { class: "form-error", role: "alert" }),
        h(
          "div",
          { class: "dialog-actions" },
          h("button", { type: "button", class: "btn outline", "data-action": "cancel", text: "Cancel" }),
          h("button", { type: "submit", class: "btn primary", text: "Save" }),
        ),
      ),
    );
    document.body.append(dialogEl);
  }
  const dialog = dialogEl;
  const form = dialog.querySelector("form");
  const title = dialog.querySelector("#canned-title");
  const body = dialog.querySelector("#canned-body");
  const error = dialog.querySelector(".form-error");
  dialog.querySelector(".dialog-title").textContent = item ? "Edit saved reply" : "Add a saved reply";
  title.value = item?.title || "";
  body.value = item?.body || "";
  error.textContent = "";
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = async (event) => {
      event.preventDefault();
      const payload = { title: title.value, body: body.value };
      try {
        const saved = item
          ? await api.put(`/canned-responses/${encodeURIComponent(item.id)}`, payload)
          : await api.post("/canned-responses", payload);
        finish(saved);
      } catch (failure) {
        error.textContent = friendlyMessage(failure);
      }
    };
    const onCancel = () => finish(null);
    const onClose = () => finish(null);
    const cancel = dialog.querySelector("[data-action=cancel]");
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", onClose);
    openModal(dialog);
    title.focus();
  });
}
