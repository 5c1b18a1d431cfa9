/** "X is typing…": throttled notices out, expiring indicators in. */

import * as protocol from './protocol.js';

/** Tells the room that this user is typing: at most once per `interval`, and stops after `idle`. */
export class TypingNotifier {
  #send;
  #interval;
  #idle;
  #lastSent = 0;
  #idleTimer = null;

  constructor(send, { interval = 3000, idle = 3000 } = {}) {
    this.#send = send;
    this.#interval = interval;
    this.#idle = idle;
  }

  /** The user typed something. */
  input() {
    const now = Date.now();
    if (now - this.#lastSent >= this.#interval && this.#send(protocol.typing())) this.#lastSent = now;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.stop(), this.#idle);
  }

  /** The user sent the message or went idle. */
  stop() {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#lastSent === 0) return;
    this.#lastSent = 0;
    this.#send(protocol.stopTyping());
  }
}

/** Shows who is typing in `container`; an entry lapses after `expireAfter` without news (a lost stop frame). */
export class TypingIndicator {
  #container;
  #t;
  #expireAfter;
  #timers = new Map();

  constructor(container, t, { expireAfter = 6000 } = {}) {
    this.#container = container;
    this.#t = t;
    this.#expireAfter = expireAfter;
  }

  show(username) {
    clearTimeout(this.#timers.get(username));
    this.#timers.set(username, setTimeout(() => this.hide(username), this.#expireAfter));
    this.#render();
  }

  hide(username) {
    if (!this.#timers.has(username)) return;
    clearTimeout(this.#timers.get(username));
    this.#timers.delete(username);
    this.#render();
  }

  clear() {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#render();
  }

  #render() {
    const names = [...this.#timers.keys()];
    const entries = [];
    if (names.length > 3) {
      entries.push(this.#entry(this.#t('typing_many')));
    } else {
      for (const name of names) {
        const entry = this.#entry(this.#t('typing_one', { user: name }));
        entry.dataset.username = name;
        entry.id = `escribiendo-${name}`; // the tutorial's id for the same indicator
        entries.push(entry);
      }
    }
    if (entries.length) {
      const dots = document.createElement('span');
      dots.className = 'typing-dots';
      dots.setAttribute('aria-hidden', 'true');
      dots.append(document.createElement('i'), document.createElement('i'), document.createElement('i'));
      entries.unshift(dots);
    }
    this.#container.replaceChildren(...entries);
  }

  #entry(text) {
    const span = document.createElement('span');
    span.className = 'typing-entry';
    span.textContent = text;
    return span;
  }
}
