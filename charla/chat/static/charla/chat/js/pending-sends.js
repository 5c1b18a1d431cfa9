/**
 * The outbox: sends not yet echoed by the server, shown as pending and resent after every
 * reconnect (the server stores a client_id once, so a resend never duplicates). It is
 * saved (saved-sends.js), so a reload or a new login sends what was left.
 */

import { ask } from './confirm-dialog.js';
import * as protocol from './protocol.js';

/** A send the server failed to store (a database blip) goes again, a few times, with the same client_id. */
const RETRYABLE = new Set([protocol.ERROR_CODE.STORE_FAILED, protocol.ERROR_CODE.SERVER_ERROR]);
const RETRY_DELAYS_MS = [1000, 3000, 9000];
const RATE_RETRY_MS = 3000;

export class PendingSends {
  #list;
  #send;
  #input;
  #dialog;
  #t;
  #saved;
  #outbox = new Map(); // client_id -> the frame to (re)send
  #retries = new Map(); // client_id -> tries so far
  #asking = new Set();
  #questions = Promise.resolve(); // one question at a time, in the order the sends were refused

  /**
   * @param {{list: import('./messages.js').MessageList, send: (frame: object) => boolean,
   *   input: HTMLTextAreaElement, dialog: HTMLDialogElement, t: Function,
   *   saved: import('./saved-sends.js').SavedSends}} options
   *   `send` sends now if the connection is ready, else returns false (the reconnect resends).
   */
  constructor({ list, send, input, dialog, t, saved }) {
    this.#list = list;
    this.#send = send;
    this.#input = input;
    this.#dialog = dialog;
    this.#t = t;
    this.#saved = saved;
  }

  /** How many sends are waiting. */
  get size() {
    return this.#outbox.size;
  }

  /** Show the sends a previous page left unsent as pending from `username`; they go once connected. */
  restore(username) {
    for (const { clientId, frame } of this.#saved.loadSends()) {
      if (this.#outbox.has(clientId)) continue;
      this.#outbox.set(clientId, frame);
      this.#list.addPending(clientId, frame.mensaje, username);
    }
  }

  /** Show `text` as pending from `username` and send it. */
  add(text, username) {
    const clientId = protocol.newClientId();
    const frame = protocol.sendMessage(text, clientId);
    this.#outbox.set(clientId, frame);
    this.#saved.add(clientId, frame);
    this.#list.addPending(clientId, text, username);
    this.#send(frame);
  }

  /** Send every pending frame again (a connection just delivered its history). */
  resendAll() {
    for (const frame of this.#outbox.values()) this.#send(frame);
  }

  /** If `msg` was sent from this page, stop showing (and resending) its pending copy; returns whether it was. */
  confirm(msg, userId) {
    if (msg.autor_id !== userId || !msg.client_id || !this.#outbox.delete(msg.client_id)) return false;
    this.#saved.remove(msg.client_id);
    this.#retries.delete(msg.client_id);
    this.#list.dropPending(msg.client_id);
    return true;
  }

  /** The person gave up on an unsent message. */
  discard(clientId) {
    this.#outbox.delete(clientId);
    this.#saved.remove(clientId);
    this.#list.dropPending(clientId);
  }

  /**
   * An `error` frame: a mass mention is asked about, a storage failure is retried (both
   * return true: nothing to show yet); a refused send stops being pending and its text
   * goes back to the composer (returns false: the error is to be shown).
   */
  handleError(frame) {
    if (frame.code === protocol.ERROR_CODE.MASS_MENTION_CONFIRM && this.#outbox.has(frame.client_id)) {
      this.#confirmMassMention(frame.client_id, frame.miembros);
      return true;
    }
    if (this.#retryLater(frame)) return true;
    const refused = frame.client_id && this.#outbox.get(frame.client_id);
    if (refused) {
      this.discard(frame.client_id);
      this.#giveBack(refused.mensaje);
    }
    return false;
  }

  #retryLater(frame) {
    if (frame.code === protocol.ERROR_CODE.RATE_LIMITED && this.#outbox.has(frame.client_id)) {
      // Too fast (a long queue sent at once after a reconnect): it waits its turn, never dropped.
      setTimeout(() => {
        const pending = this.#outbox.get(frame.client_id);
        if (pending) this.#send(pending);
      }, RATE_RETRY_MS); // the same wait for all: refused in order, they go again in order
      return true;
    }
    const tries = this.#retries.get(frame.client_id) ?? 0;
    if (!RETRYABLE.has(frame.code) || !this.#outbox.has(frame.client_id) || tries >= RETRY_DELAYS_MS.length) {
      this.#retries.delete(frame.client_id);
      return false;
    }
    this.#retries.set(frame.client_id, tries + 1);
    setTimeout(() => {
      const pending = this.#outbox.get(frame.client_id);
      if (pending) this.#send(pending); // not ready: the reconnect resends the whole outbox
    }, RETRY_DELAYS_MS[tries]);
    return true;
  }

  /** An @room in a large room: ask before notifying everyone; confirmed, the send goes again with the key. */
  #confirmMassMention(clientId, people) {
    if (this.#asking.has(clientId)) return; // refused again after a reconnect while the question is open
    this.#asking.add(clientId);
    this.#questions = this.#questions.then(async () => {
      const confirmed = await ask(this.#dialog, this.#t('mass_mention_confirm', { count: people }));
      this.#asking.delete(clientId);
      const pending = this.#outbox.get(clientId);
      if (!pending) return; // discarded meanwhile
      if (confirmed) {
        const frame = protocol.confirmedSend(pending);
        this.#outbox.set(clientId, frame);
        this.#saved.add(clientId, frame);
        this.#send(frame);
        return;
      }
      this.discard(clientId);
      this.#giveBack(pending.mensaje);
      this.#input.focus();
    });
  }

  /** A send that will not go: its text returns to an empty composer. */
  #giveBack(text) {
    if (!this.#input.value) this.#input.value = text;
  }
}
