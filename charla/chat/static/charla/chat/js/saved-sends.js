/**
 * What a person typed survives the page: pending sends and an unsent draft are kept in
 * localStorage per user and room, so that a reload, or logging in again after the session
 * ended, sends them (each keeps its client_id, so nothing is stored twice).
 */

const MAX_SAVED = 200;

export class SavedSends {
  #sendsKey;
  #draftKey;

  constructor(userId, room) {
    this.#sendsKey = `charla:outbox:${userId}:${room}`;
    this.#draftKey = `charla:draft:${userId}:${room}`;
  }

  /** The saved sends, oldest first: [{clientId, frame}] (anything malformed is dropped). */
  loadSends() {
    const saved = this.#read(this.#sendsKey);
    if (!Array.isArray(saved)) return [];
    return saved.filter(
      (entry) =>
        typeof entry?.clientId === 'string' &&
        entry.frame?.type === 'mensaje' &&
        typeof entry.frame.mensaje === 'string' &&
        entry.frame.client_id === entry.clientId,
    );
  }

  /** Keep `outbox` (a Map of client_id -> frame, in sending order). */
  saveSends(outbox) {
    const entries = [...outbox].slice(-MAX_SAVED).map(([clientId, frame]) => ({ clientId, frame }));
    this.#write(this.#sendsKey, entries.length ? entries : null);
  }

  /** The text left in the composer when the page could not send it, once ('' if none). */
  takeDraft() {
    const draft = this.#read(this.#draftKey);
    this.#write(this.#draftKey, null);
    return typeof draft === 'string' ? draft : '';
  }

  saveDraft(text) {
    this.#write(this.#draftKey, text ? text : null);
  }

  #read(key) {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch {
      return null; // storage off (private mode, a policy) or not JSON: nothing saved
    }
  }

  #write(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch {
      // Full or switched off: the page still works; only a reload would lose the queue.
    }
  }
}
