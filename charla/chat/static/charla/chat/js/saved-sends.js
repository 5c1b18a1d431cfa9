/**
 * What a person typed survives the page: pending sends and the composer's draft are kept
 * in localStorage per user and room, so that a reload, or logging in again after the
 * session ended, sends them (each keeps its client_id, so nothing is stored twice).
 *
 * Entries are added and removed one by one (read, change, write), so two tabs of the same
 * room do not overwrite each other's; they expire after a day (an old queue is not posted
 * as news), and logging out forgets them all (forgetAll).
 */

const MAX_SAVED = 200;
const KEEP_MS = 24 * 3600 * 1000;
const PREFIX = 'charla:';

export class SavedSends {
  #sendsKey;
  #draftKey;

  /** @param {number} userId @param {number} roomId (not the name: a name may be taken again by another room) */
  constructor(userId, roomId) {
    this.#sendsKey = `${PREFIX}outbox:${userId}:${roomId}`;
    this.#draftKey = `${PREFIX}draft:${userId}:${roomId}`;
  }

  /** The saved sends, oldest first: [{clientId, frame}] (anything malformed or expired is dropped). */
  loadSends() {
    const fresh = this.#entries();
    this.#write(this.#sendsKey, fresh.length ? fresh : null);
    return fresh;
  }

  /** Keep one send until `remove`. */
  add(clientId, frame) {
    const entries = this.#entries().filter((entry) => entry.clientId !== clientId);
    entries.push({ clientId, frame, savedAt: Date.now() });
    this.#write(this.#sendsKey, entries.slice(-MAX_SAVED));
  }

  /** The send was stored (or given up): forget it. */
  remove(clientId) {
    const entries = this.#entries().filter((entry) => entry.clientId !== clientId);
    this.#write(this.#sendsKey, entries.length ? entries : null);
  }

  /** This room is not the person's any more (removed, gone): nothing of it is sent later. */
  clear() {
    this.#write(this.#sendsKey, null);
    this.#write(this.#draftKey, null);
  }

  /** The text left in the composer by an earlier page, once ('' if none). */
  takeDraft() {
    const draft = this.#read(this.#draftKey);
    this.#write(this.#draftKey, null);
    return typeof draft?.text === 'string' && Date.now() - draft.savedAt < KEEP_MS ? draft.text : '';
  }

  saveDraft(text) {
    this.#write(this.#draftKey, text ? { text, savedAt: Date.now() } : null);
  }

  #entries() {
    const saved = this.#read(this.#sendsKey);
    if (!Array.isArray(saved)) return [];
    const now = Date.now();
    return saved.filter(
      (entry) =>
        typeof entry?.clientId === 'string' &&
        entry.frame?.type === 'mensaje' &&
        typeof entry.frame.mensaje === 'string' &&
        entry.frame.client_id === entry.clientId &&
        Number.isFinite(entry.savedAt) &&
        now - entry.savedAt < KEEP_MS,
    );
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

/** Logging out: nothing typed here stays in this browser for the next person. */
export function forgetAll() {
  try {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith(`${PREFIX}outbox:`) || key.startsWith(`${PREFIX}draft:`)) localStorage.removeItem(key);
    }
  } catch {
    // storage off: nothing was kept
  }
}
