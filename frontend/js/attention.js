// Getting a tired person's attention on the staff pages: a sound, a count in the tab's title,
// and (peer workers) a browser notification when the tab is not in view. Staff pages only:
// participants never get sounds or badges from this service.
//
// Browsers keep audio silent until the page has had a gesture, so the sound is "on" as a
// preference from the start and made audible ("unlocked") on the person's first click or key
// press; the toggle in the top bar says which of the three it is: on, off, or on but waiting
// for that first click.

import { h, store } from "./dom.js";

const prefs = store("local"); // preferences only; nothing about people

export class Attention {
  /**
   * @param {object} o
   * @param {string} o.key  localStorage key of the sound preference
   * @param {HTMLButtonElement} o.button  the toggle in the top bar
   * @param {boolean} [o.soundByDefault]
   * @param {string} [o.what]  what the sound is for, in the toggle's accessible name
   */
  constructor({ key, button, soundByDefault = true, what = "alerts" }) {
    this.key = key;
    this.button = button;
    this.what = what;
    const saved = prefs.get(key);
    this.sound = typeof saved === "boolean" ? saved : soundByDefault;
    this.audio = null;
    this.unlocked = false;
    this.baseTitle = document.title;
    this.badge = 0;
    this.lastPlayedAt = 0;
    this.lastTimes = 0;
    this.playedCount = 0; // how many cues actually played: tests and the toggle's title read it
    this.unlock = () => this.tryUnlock();
    document.addEventListener("click", this.unlock, true);
    document.addEventListener("keydown", this.unlock, true);
    button.hidden = false;
    button.addEventListener("click", () => {
      this.sound = !this.sound;
      prefs.set(key, this.sound);
      this.tryUnlock();
      this.render();
      if (this.sound) this.play(1, { force: true });
    });
    this.render();
  }

  /** The AudioContext may only start on a gesture: made and resumed on the first one. */
  tryUnlock() {
    try {
      this.audio ||= new (window.AudioContext || window.webkitAudioContext)();
      if (this.audio.state === "suspended") {
        this.audio.resume().then(() => this.render(), () => {});
      }
      this.unlocked = this.audio.state === "running" || this.unlocked;
      // resume() settles a moment later; the state change redraws the toggle.
      this.audio.onstatechange = () => {
        this.unlocked = this.audio.state === "running";
        this.render();
      };
    } catch {
      this.audio = null; // no audio on this device: the banner and title still say it
    }
    if (this.unlocked) {
      document.removeEventListener("click", this.unlock, true);
      document.removeEventListener("keydown", this.unlock, true);
    }
    this.render();
  }

  /** "on", "off" or "waiting" (on, but the browser has not let it play yet). */
  get soundState() {
    if (!this.sound) return "off";
    return this.unlocked ? "on" : "waiting";
  }

  render() {
    const state = this.soundState;
    const b = this.button;
    b.setAttribute("aria-pressed", String(this.sound));
    b.dataset.sound = state;
    // The same two spans stay in the button (a press that starts on a removed node is not a
    // click); the hint folds away on a phone (the dashed outline and the title still say it).
    if (!this.labelEl) {
      this.labelEl = h("span", { class: "sound-label" });
      this.hintEl = h("span", { class: "sound-hint" });
      b.replaceChildren(this.labelEl, this.hintEl);
    }
    this.labelEl.textContent = state === "off" ? "Sound off" : "Sound on";
    this.hintEl.textContent = state === "waiting" ? ": click anywhere to allow" : "";
    b.title =
      state === "off"
        ? `No sound for ${this.what}. Press to turn it on.`
        : state === "on"
          ? `A sound plays for ${this.what}. Press to turn it off.`
          : `The browser plays sound only after a click on this page: click anywhere once. Press this to turn sound off.`;
  }

  /**
   * Play the cue `times` times (two for the loudest news). Repeats within a second collapse
   * into one, so a burst of frames is one sound, not a siren.
   */
  play(times = 1, { force = false, every = false } = {}) {
    if (!this.sound && !force) return false;
    const now = Date.now();
    // A louder cue (more beeps) is never swallowed by a softer one just before it, and
    // `every` (one call per help press) is never swallowed at all.
    if (!force && !every && now - this.lastPlayedAt < 1000 && times <= this.lastTimes) return false;
    if (!force) {
      // The sample played when sound is turned on never holds back real news.
      this.lastPlayedAt = now;
      this.lastTimes = times;
    }
    this.playedCount += 1;
    this.button.dataset.played = String(this.playedCount);
    try {
      this.audio ||= new (window.AudioContext || window.webkitAudioContext)();
      const ctx = this.audio;
      if (ctx.state === "suspended") ctx.resume().catch(() => {});
      for (let i = 0; i < times; i += 1) {
        const start = ctx.currentTime + i * 0.35;
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.type = "sine";
        osc.frequency.setValueAtTime(740, start);
        osc.frequency.linearRampToValueAtTime(880, start + 0.18);
        gain.gain.setValueAtTime(0.0001, start);
        gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.28);
        osc.connect(gain).connect(ctx.destination);
        osc.start(start);
        osc.stop(start + 0.3);
      }
    } catch {
      /* no audio here: the visual cues are still there */
    }
    return true;
  }

  /** The count in the tab's title: "(2) Supervisor · peerchat"; 0 takes it away. */
  setBadge(count, { urgent = false } = {}) {
    this.badge = Math.max(0, count | 0);
    const mark = urgent ? "(!) " : "";
    document.title = this.badge || urgent ? `${mark}${this.badge ? `(${this.badge}) ` : ""}${this.baseTitle}` : this.baseTitle;
  }
}

// --- browser notifications (peer workers) ----------------------------------------------------

const ASKED_KEY = "peerchat.notifications.asked";

/**
 * Ask once, ever, on this device, for permission to show notifications, right after sign-in
 * (still within the sign-in's gesture). A "no" or a dismissed question is never asked again.
 */
export function askForNotificationsOnce() {
  if (!("Notification" in window)) return;
  if (Notification.permission !== "default") return;
  if (prefs.get(ASKED_KEY)) return;
  prefs.set(ASKED_KEY, true);
  try {
    const asked = Notification.requestPermission();
    if (asked && typeof asked.catch === "function") asked.catch(() => {});
  } catch {
    /* older browsers: callback form only; not worth it */
  }
}

/**
 * Show a notification when the tab is not in view and permission was given. Clicking it brings
 * the tab forward. `tag` makes a repeat replace the last one for the same thing.
 */
export function notify(title, body, { tag, onClick } = {}) {
  if (!("Notification" in window) || Notification.permission !== "granted") return null;
  if (document.visibilityState === "visible" && document.hasFocus()) return null;
  try {
    const n = new Notification(title, { body, tag, renotify: Boolean(tag), icon: "/static/icons/icon-192.png" });
    n.onclick = () => {
      window.focus();
      onClick?.();
      n.close();
    };
    return n;
  } catch {
    return null; // some browsers allow notifications only from a service worker
  }
}
