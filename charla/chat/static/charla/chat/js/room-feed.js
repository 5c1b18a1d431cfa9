/**
 * The chat socket's frames through one dispatch table: history, live messages, edits and
 * deletions, presence, typing and errors. It keeps the room event cursor that the next
 * connection resumes after.
 */

import { FRAME, frameSeq } from './protocol.js';
import { showFirstUnread } from './unread.js';

/** Pages of scroll-back a room may load on opening to reach its first unread message. */
const MAX_UNREAD_PAGES = 10;

export class RoomFeed {
  /** The last room event this page has seen (null before the first history). */
  cursor = null;
  #ui;
  #me;
  #t;
  #list;
  #history;
  #pending;
  #typing;
  #readCursor;
  #titleCounter;
  #onReady;
  #handlers;

  /**
   * @param {{ui: {messages: HTMLElement, newMessages: HTMLElement, jumpToUnread: HTMLElement},
   *   me: {userId: number, username: string, lastReadSeq: number}, t: Function,
   *   list: import('./messages.js').MessageList, history: import('./history.js').HistoryLoader,
   *   pending: import('./pending-sends.js').PendingSends, online: import('./presence.js').OnlineList,
   *   typing: import('./typing.js').TypingIndicator, readCursor: import('./unread.js').ReadCursor,
   *   titleCounter: import('./unread.js').TitleCounter, showError: (text: string) => void, onReady: () => void}} parts
   *   onReady runs when a connection has delivered its history (sends may go).
   */
  constructor({ ui, me, t, list, history, pending, online, typing, readCursor, titleCounter, showError, onReady }) {
    this.#ui = ui;
    this.#me = me;
    this.#t = t;
    this.#list = list;
    this.#history = history;
    this.#pending = pending;
    this.#typing = typing;
    this.#readCursor = readCursor;
    this.#titleCounter = titleCounter;
    this.#onReady = onReady;
    this.#handlers = {
      [FRAME.HISTORY]: (frame) => this.#onHistory(frame),
      [FRAME.MESSAGE]: (frame) => this.#onMessage(frame.mensaje),
      [FRAME.EDITED]: (frame) => list.apply(frame.mensaje, { hasOlder: history.hasMore }),
      [FRAME.DELETED]: (frame) => list.remove(frame.id),
      [FRAME.JOINED]: (frame) => {
        online.add(frame.username);
        this.#notice('joined', frame.username);
      },
      [FRAME.LEFT]: (frame) => {
        online.remove(frame.username);
        typing.hide(frame.username);
        this.#notice('left', frame.username);
      },
      [FRAME.ONLINE]: (frame) => online.reset(frame.usuarios),
      [FRAME.TYPING]: (frame) => typing.show(frame.username),
      [FRAME.STOP_TYPING]: (frame) => typing.hide(frame.username),
      // A refused send stops being pending and its text goes back to the composer.
      [FRAME.ERROR]: (frame) => pending.handleError(frame) || showError(frame.error),
    };
  }

  /** One frame from the server. */
  handle(frame) {
    const handler = this.#handlers[frame.type];
    if (!handler) {
      console.debug('Charla: ignoring a frame of unknown type', frame.type);
      return;
    }
    handler(frame);
    const seq = frameSeq(frame);
    if (frame.type !== FRAME.HISTORY && seq !== null) this.cursor = Math.max(this.cursor ?? 0, seq);
    if (frame.type === FRAME.HISTORY || frame.type === FRAME.MESSAGE) this.#readCursor.shown(this.cursor);
  }

  /** Every connection starts with a history: the whole view the first time (or when limited), else what was missed. */
  #onHistory(frame) {
    const list = this.#list;
    const first = this.cursor === null;
    const fresh = first || frame.limited;
    const stick = fresh || list.isNearBottom();
    for (const msg of frame.mensajes) this.#pending.confirm(msg, this.#me.userId);
    if (fresh) {
      list.reset(frame.mensajes);
      this.#history.afterHistory(frame.mensajes.length);
      // Not max(): a limited history may come from a room that went back in time (a restored database).
      this.cursor = frame.seq;
    } else {
      for (const msg of frame.mensajes) list.apply(msg, { hasOlder: this.#history.hasMore });
      this.cursor = Math.max(this.cursor, frame.seq);
    }
    if (stick) list.scrollToBottom();
    if (first) this.#openAtFirstUnread();
    this.#onReady();
  }

  /**
   * The room opens at the first message not read yet, with the divider right above it: if
   * more arrived than the history holds, the pages before are loaded until it is in.
   */
  async #openAtFirstUnread() {
    const lastRead = this.#me.lastReadSeq;
    if (lastRead > 0) {
      await this.#history.loadUntil(() => (this.#list.oldest?.seq ?? 0) <= lastRead, MAX_UNREAD_PAGES);
    }
    showFirstUnread(this.#ui.messages, {
      lastReadSeq: lastRead,
      userId: this.#me.userId,
      text: this.#t('unread_divider'),
      jumpButton: this.#ui.jumpToUnread,
      latestButton: this.#ui.newMessages,
      isAtBottom: () => this.#list.isNearBottom(),
    });
  }

  #onMessage(msg) {
    const list = this.#list;
    const stick = list.isNearBottom();
    const sentHere = this.#pending.confirm(msg, this.#me.userId);
    list.apply(msg, { hasOlder: this.#history.hasMore });
    if (sentHere || stick) list.scrollToBottom();
    else this.#ui.newMessages.hidden = false;
    if (msg.autor_id !== this.#me.userId) {
      this.#typing.hide(msg.autor);
      this.#titleCounter.count();
    }
  }

  /** "ana joined the room", for others than oneself. */
  #notice(key, username) {
    if (username === this.#me.username) return;
    const stick = this.#list.isNearBottom();
    this.#list.addSystemLine(this.#t(key, { user: username }));
    if (stick) this.#list.scrollToBottom();
  }
}
