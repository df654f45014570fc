// Sign-in and session for the staff pages (/worker, /supervisor). The token lives in
// sessionStorage: it ends with the tab, which suits shared workstations.

import { Api, ApiError, fetchMessages, friendlyMessage } from "./api.js";
import { $, store } from "./dom.js";
import { ChatSocket, sessionOutbox } from "./socket.js";
import { bindConnectionBanner, busy } from "./ui.js";

const storage = store("session");
const KEY = "peerchat.staff";

const ROLE_WORDS = { peer_worker: "peer supporter", supervisor: "supervisor", admin: "admin" };

/**
 * Show the sign-in form until a staff member with one of `roles` is signed in, then call
 * onReady({session, api, socket}). The page's markup provides #signin (a form), #signin-error,
 * #app (hidden until signed in), #who and #sign-out.
 */
export async function startStaffPage({ roles, onReady, wrongRoleHint }) {
  let session = storage.get(KEY);
  let socket = null;
  const api = new Api({ getToken: () => session?.token, onUnauthorized: () => signOut(true) });

  function signOut(expired = false) {
    socket?.stop();
    storage.remove(KEY);
    storage.remove(`${KEY}.outbox`);
    session = null;
    if (expired) sessionStorage.setItem("peerchat.signin-note", "Your session has ended. Please sign in again.");
    location.reload();
  }

  function showSignIn(message = "") {
    $("#app").hidden = true;
    $("#signin-screen").hidden = false;
    $("#who").textContent = "";
    $("#sign-out").hidden = true;
    const note = sessionStorage.getItem("peerchat.signin-note");
    sessionStorage.removeItem("peerchat.signin-note");
    $("#signin-error").textContent = message || note || "";
    $("#username").focus();
  }

  function enter() {
    $("#signin-screen").hidden = true;
    $("#app").hidden = false;
    $("#who").textContent = `${session.handle} · ${ROLE_WORDS[session.role] || session.role}`;
    $("#sign-out").hidden = false;
    socket = new ChatSocket({
      getToken: () => session?.token,
      fetchAfter: (roomId, afterSeq) => fetchMessages(api, roomId, afterSeq),
      outboxStore: sessionOutbox(`${KEY}.outbox`),
    });
    socket.addEventListener("unauthorized", () => signOut(true));
    bindConnectionBanner($("#connection"), socket, {
      waiting: "Reconnecting… the queue and conversations will catch up when we're back.",
      offline: "You're offline. Messages you write will be sent when you reconnect.",
    });
    window.__peerchat = { socket, api };
    onReady({ session, api, socket });
    socket.start();
  }

  $("#sign-out").addEventListener("click", () => signOut(false));
  $("#signin").addEventListener("submit", (event) => {
    event.preventDefault();
    busy($("#signin button[type=submit]"), async () => {
      $("#signin-error").textContent = "";
      try {
        const result = await api.post("/auth/login", {
          username: $("#username").value.trim(),
          password: $("#password").value,
        });
        if (!roles.includes(result.role)) {
          $("#signin-error").textContent = wrongRoleHint(result.role);
          return;
        }
        session = { token: result.token, user_id: result.user_id, role: result.role, handle: result.handle };
        storage.set(KEY, session);
        $("#password").value = "";
        enter();
      } catch (error) {
        $("#signin-error").textContent =
          error instanceof ApiError && error.status === 401
            ? "That username and password don't match. Please try again."
            : friendlyMessage(error);
      }
    });
  });

  if (!session?.token) {
    showSignIn();
    return;
  }
  try {
    const me = await api.get("/me");
    session = { ...session, user_id: me.id, role: me.role, handle: me.handle };
    storage.set(KEY, session);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // signOut() reloads
  }
  if (!roles.includes(session.role)) {
    storage.remove(KEY);
    showSignIn(wrongRoleHint(session.role));
    return;
  }
  enter();
}
