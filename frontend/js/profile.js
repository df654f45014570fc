// A peer worker's profile (GET/PUT /me/profile): topics they support, languages they chat in,
// and lived-experience tags. The queue offers rooms that match it first.

import { friendlyMessage } from "./api.js";
import { $, h } from "./dom.js";
import { openModal } from "./ui.js";

const LANGUAGE_PATTERN = /^[a-z]{2,3}(-[a-z0-9]{2,8})?$/i;

function topicWords(topics, id) {
  return topics.find((t) => t.id === id)?.label || String(id).replace(/-/g, " ");
}

/** One line for the queue pane: what the queue matches on. */
export function profileSummary(profile, topics) {
  if (!profile) return "";
  const bits = [];
  if (profile.topics?.length) bits.push(profile.topics.map((t) => topicWords(topics, t).toLowerCase()).join(", "));
  if (profile.languages?.length) bits.push(profile.languages.map((l) => l.toUpperCase()).join(", "));
  if (profile.experience_tags?.length) bits.push(`lived experience: ${profile.experience_tags.map((t) => topicWords(topics, t).toLowerCase()).join(", ")}`);
  return bits.length ? `Matching on ${bits.join(" · ")}` : "Add your topics and languages to be offered matching requests first.";
}

function checkboxes(container, name, topics, selected) {
  const known = new Set(topics.map((t) => t.id));
  const extra = selected.filter((id) => !known.has(id)).map((id) => ({ id, label: id.replace(/-/g, " ") }));
  container.replaceChildren(
    ...[...topics, ...extra].map((topic) =>
      h(
        "label",
        { class: "chip" },
        h("input", { type: "checkbox", name, value: topic.id, checked: selected.includes(topic.id) }),
        h("span", { text: topic.label }),
      ),
    ),
  );
}

function checked(container) {
  return [...container.querySelectorAll("input:checked")].map((input) => input.value);
}

/** Open the profile editor. Resolves to the saved profile, or null when cancelled. */
export function editProfile(api, profile, topics) {
  const dialog = $("#profile-dialog");
  const form = $("#profile-form");
  const error = $("#profile-error");
  const cancel = form.querySelector("[data-action=cancel]");
  const submit = form.querySelector("button[type=submit]");
  const choices = topics.filter((t) => t.id !== "other");
  checkboxes($("#profile-topics"), "profile-topic", choices, profile?.topics || []);
  checkboxes($("#profile-experience"), "profile-experience", choices, profile?.experience_tags || []);
  $("#profile-languages").value = (profile?.languages || []).join(", ");
  error.textContent = "";
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onCancel = () => finish(null);
    const onSubmit = async (event) => {
      event.preventDefault();
      const languages = $("#profile-languages")
        .value.split(/[\s,;]+/)
        .map((l) => l.trim().toLowerCase())
        .filter(Boolean);
      const bad = languages.find((l) => !LANGUAGE_PATTERN.test(l));
      if (bad) {
        error.textContent = `"${bad}" doesn't look like a language code. Use codes such as en or pt-br.`;
        $("#profile-languages").focus();
        return;
      }
      submit.disabled = true;
      try {
        const saved = await api.put("/me/profile", {
          topics: checked($("#profile-topics")),
          languages,
          experience_tags: checked($("#profile-experience")),
        });
        finish(saved);
      } catch (err) {
        error.textContent = friendlyMessage(err);
      } finally {
        submit.disabled = false;
      }
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", onCancel);
    openModal(dialog);
    $("#profile-topics input")?.focus();
  });
}
