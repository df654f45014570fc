/**
 * Groups, for staff: create a group, rename it, pause or resume it, close it, and see who is in
 * it, removing or muting a participant with a reason (the server records every act); and look
 * back at the groups closed lately (`GET /groups?status=closed`). Mounted on the peer-supporter
 * and supervisor pages.
 */
import { Newest, friendlyMessage } from "./api.js";
import { h } from "./dom.js";
import { topicName } from "./resources.js";
import { busy, confirmDialog, notesDialog, toast } from "./ui.js";

export function mountGroupsAdmin({ api, parent }) {
  const list = h("ul", { class: "groups-admin-list" });
  const nameInput = h("input", { id: "group-new-name", type: "text", maxlength: "120", required: true, autocomplete: "off" });
  const topicInput = h("input", { id: "group-new-topic", type: "text", maxlength: "64", autocomplete: "off" });
  const form = h(
    "form",
    { class: "groups-admin-new" },
    h("label", { for: "group-new-name", text: "New group's name" }),
    nameInput,
    h("label", { for: "group-new-topic", text: "Topic (optional)" }),
    topicInput,
    h("button", { type: "submit", class: "btn outline small", text: "Create group" }),
  );
  const closedList = h("ul", { class: "groups-admin-list groups-closed-list" });
  const closedBox = h(
    "details",
    { class: "groups-closed" },
    h("summary", { text: "Closed groups" }),
    closedList,
  );
  // Loaded when opened, and again on each refresh while open.
  closedBox.addEventListener("toggle", () => {
    if (closedBox.open) refreshClosed();
  });
  const section = h(
    "section",
    { id: "groups-admin", class: "groups-admin", "aria-labelledby": "groups-admin-title" },
    h(
      "div",
      { class: "pane-head" },
      h("h2", { id: "groups-admin-title", text: "Groups" }),
      h("p", {
        class: "muted",
        text: "Open groups participants can join. Pausing stops new members and messages; removing or muting someone needs a reason, and is recorded.",
      }),
    ),
    list,
    form,
    closedBox,
  );
  parent.append(section);
  const expanded = new Set(); // groups whose members are shown stay shown across refreshes

  const act = async (button, work, done) => {
    try {
      await busy(button, work);
      if (done) toast(done);
      await refresh();
    } catch (error) {
      toast(friendlyMessage(error), "error");
    }
  };

  const memberRow = (group, member) => {
    const muted = member.muted ? " (muted)" : "";
    const row = h("li", { class: "group-member", dataset: { memberId: member.member_id } },
      h("span", { text: `${member.handle}${muted}` }),
      h("span", { class: "muted small-print", text: member.role === "participant" ? "" : ` ${member.role}` }),
    );
    if (member.role !== "participant") return row;
    const base = `/groups/${encodeURIComponent(group.room_id)}/members/${encodeURIComponent(member.member_id)}`;
    const withReason = async (button, verb, path, done) => {
      const reason = await notesDialog({
        title: `${verb} ${member.handle}`,
        label: "Reason (required, kept in the audit log)",
        confirm: verb,
      });
      if (reason === null) return;
      if (!reason) {
        toast("A reason is needed.", "error");
        return;
      }
      await act(button, () => api.post(path, { reason }), done);
    };
    const remove = h("button", {
      type: "button", class: "btn ghost small", text: "Remove",
      "aria-label": `Remove ${member.handle} from ${group.name}`,
      onclick: () => withReason(remove, "Remove", `${base}/remove`, `${member.handle} was removed.`),
    });
    const mute = member.muted
      ? h("button", {
          type: "button", class: "btn ghost small", text: "Unmute",
          "aria-label": `Unmute ${member.handle}`,
          onclick: () => act(mute, () => api.post(`${base}/unmute`), `${member.handle} can send again.`),
        })
      : h("button", {
          type: "button", class: "btn ghost small", text: "Mute",
          "aria-label": `Mute ${member.handle}`,
          onclick: () => withReason(mute, "Mute", `${base}/mute`, `${member.handle} was muted.`),
        });
    row.append(h("span", { class: "row" }, mute, remove));
    return row;
  };

  const groupItem = (group) => {
    const members = h("ul", { class: "group-members", "aria-label": `Members of ${group.name}` });
    const path = `/groups/${encodeURIComponent(group.room_id)}`;
    const showMembers = h("button", {
      type: "button", class: "btn ghost small", text: "Members", "aria-expanded": "false",
      "aria-label": `Members of ${group.name}`,
      onclick: async () => {
        const open = expanded.has(group.room_id);
        showMembers.setAttribute("aria-expanded", String(!open));
        if (open) {
          expanded.delete(group.room_id);
          return members.replaceChildren();
        }
        expanded.add(group.room_id);
        await loadMembers();
      },
    });
    const loadMembers = async () => {
      try {
        const data = await api.get(`${path}/members`);
        const rows = data.members.map((m) => memberRow(group, m));
        members.replaceChildren(...(rows.length ? rows : [h("li", { class: "muted", text: "No one yet." })]));
      } catch (error) {
        toast(friendlyMessage(error), "error");
      }
    };
    const rename = h("button", {
      type: "button", class: "btn ghost small", text: "Rename", "aria-label": `Rename ${group.name}`,
      onclick: async () => {
        const name = await notesDialog({ title: `Rename ${group.name}`, label: "New name", confirm: "Rename" });
        if (name) await act(rename, () => api.request("PATCH", path, { name }), "Group renamed.");
      },
    });
    const pause = h("button", {
      type: "button", class: "btn ghost small", text: group.paused ? "Resume" : "Pause",
      "aria-label": `${group.paused ? "Resume" : "Pause"} ${group.name}`,
      onclick: () =>
        act(pause, () => api.request("PATCH", path, { paused: !group.paused }),
          group.paused ? "Group resumed." : "Group paused."),
    });
    const close = h("button", {
      type: "button", class: "btn ghost small danger", text: "Close", "aria-label": `Close ${group.name}`,
      onclick: async () => {
        const yes = await confirmDialog({
          title: `Close ${group.name}?`,
          body: "Its members are told the group has ended, and it leaves the list of groups.",
          confirm: "Close group",
          danger: true,
        });
        if (yes) await act(close, () => api.post(`${path}/close`), "Group closed.");
      },
    });
    if (expanded.has(group.room_id)) {
      showMembers.setAttribute("aria-expanded", "true");
      loadMembers();
    }
    const topic = group.topic ? ` · ${topicName(group.topic)}` : "";
    const state = group.paused ? " · paused" : "";
    return h(
      "li",
      { class: "groups-admin-item", dataset: { roomId: group.room_id } },
      h("div", {}, h("h3", { text: group.name }),
        h("p", { class: "muted small-print", text: `${group.members} participant${group.members === 1 ? "" : "s"}${topic}${state}` })),
      h("div", { class: "row" }, showMembers, rename, pause, close),
      members,
    );
  };

  const closedItem = (group) => {
    const topic = group.topic ? ` · ${topicName(group.topic)}` : "";
    const when = group.closed_at ? new Date(group.closed_at) : null;
    const closedOn = when && !Number.isNaN(when.getTime())
      ? `closed ${when.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}`
      : "closed";
    return h(
      "li",
      { class: "groups-admin-item closed", dataset: { roomId: group.room_id } },
      h("div", {}, h("h3", { text: group.name }),
        h("p", { class: "muted small-print", text: `${closedOn}${topic}` })),
    );
  };

  // Reads can overlap (the first load, then one after creating a group) and their replies can
  // come back in any order: only the latest read is drawn, so an older list never hides a change.
  const openNews = new Newest();
  const closedNews = new Newest();

  async function refreshClosed() {
    const mark = closedNews.mark();
    try {
      const { groups } = await api.get("/groups?status=closed");
      if (!closedNews.latest(mark)) return;
      closedList.replaceChildren(
        ...(groups.length ? groups.map(closedItem) : [h("li", { class: "muted", text: "No groups have been closed." })]),
      );
    } catch (error) {
      toast(friendlyMessage(error), "error");
    }
  }

  const refresh = async () => {
    const mark = openNews.mark();
    try {
      const { groups } = await api.get("/groups");
      if (!openNews.latest(mark)) return;
      list.replaceChildren(
        ...(groups.length ? groups.map(groupItem) : [h("li", { class: "muted", text: "No groups are open." })]),
      );
    } catch (error) {
      toast(friendlyMessage(error), "error");
    }
    if (closedBox.open) await refreshClosed();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return nameInput.focus();
    const body = { name };
    const topic = topicInput.value.trim();
    if (topic) body.topic = topic;
    await act(form.querySelector("button"), () => api.post("/groups", body), `Group “${name}” created.`);
    form.reset();
  });

  refresh();
  return { refresh };
}
