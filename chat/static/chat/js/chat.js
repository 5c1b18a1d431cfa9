/**
 * The room page: connects the socket, the message list, the composer, typing,
 * presence and scroll-back. Incoming frames go through one dispatch table.
 */

import { setupMessageActions } from './actions.js';
import { setupComposer } from './composer.js';
import { ask } from './confirm-dialog.js';
import { ReconnectingSocket, STATE } from './connection.js';
import { HistoryLoader } from './history.js';
import { loadStrings } from './i18n.js';
import { MessageList } from './messages.js';
import { renderOnline } from './presence.js';
import * as protocol from './protocol.js';
import { FRAME } from './protocol.js';
import { TypingIndicator, TypingNotifier } from './typing.js';
import { ReadCursor, showFirstUnread } from './unread.js';

const root = document.getElementById('chat-app');
const config = {
  room: root.dataset.room,
  userId: Number(root.dataset.userId),
  username: root.dataset.username,
  isOwner: root.dataset.isOwner === 'true',
  messagesUrl: root.dataset.messagesUrl,
  roomListUrl: root.dataset.roomListUrl,
  loginUrl: root.dataset.loginUrl,
  maxChars: Number(root.dataset.maxChars) || 4000,
  lastReadSeq: Number(root.dataset.lastReadSeq) || 0,
};
const byId = (id) => document.getElementById(id);
const ui = {
  messages: byId('mensajes'),
  status: byId('estado-conexion'),
  online: byId('usuarios-en-linea'),
  onlineTotal: byId('total-en-linea'),
  form: byId('form-mensaje'),
  input: byId('input-mensaje'),
  errorBanner: byId('error-banner'),
  newMessages: byId('nuevos-mensajes'),
};
const t = loadStrings();

// The last room event this page has seen; the next connection resumes after it.
let cursor = null;
// Whether the current connection has delivered its history (sends wait for it).
let ready = false;
// Sends not yet echoed by the server, by client_id; all are resent after every reconnect
// (the server stores a client_id once, so a resend never duplicates).
const outbox = new Map();

const list = new MessageList(ui.messages, {
  template: byId('tpl-mensaje'),
  editorTemplate: byId('tpl-editor'),
  userId: config.userId,
  username: config.username,
  isOwner: config.isOwner,
  t,
});
const history = new HistoryLoader(list, {
  container: ui.messages,
  url: config.messagesUrl,
  button: byId('cargar-anteriores'),
  beginning: ui.messages.querySelector('.history-beginning'),
  onError: () => showError(t('load_failed')),
});
const socket = new ReconnectingSocket(() => protocol.socketUrl(config.room, cursor), {
  fatalCodes: protocol.FATAL_CLOSE_CODES,
});
const typingIn = new TypingIndicator(byId('usuarios-escribiendo'), t);
const typingOut = new TypingNotifier((frame) => ready && socket.send(frame));
const readCursor = new ReadCursor({
  send: (frame) => ready && socket.send(frame),
  isAtBottom: () => list.isNearBottom(),
});

// The whole list comes on connect; after that, joins and leaves keep it current.
let online = new Set();
const showOnline = () => renderOnline(ui.online, ui.onlineTotal, [...online].sort(), { me: config.username, t });

const handlers = {
  [FRAME.HISTORY]: onHistory,
  [FRAME.MESSAGE]: (frame) => onMessage(frame.mensaje),
  [FRAME.EDITED]: (frame) => list.apply(frame.mensaje, { hasOlder: history.hasMore }),
  [FRAME.DELETED]: (frame) => list.remove(frame.id),
  [FRAME.JOINED]: (frame) => {
    online.add(frame.username);
    showOnline();
    notice('joined', frame.username);
  },
  [FRAME.LEFT]: (frame) => {
    online.delete(frame.username);
    showOnline();
    typingIn.hide(frame.username);
    notice('left', frame.username);
  },
  [FRAME.ONLINE]: (frame) => {
    online = new Set(frame.usuarios);
    showOnline();
  },
  [FRAME.TYPING]: (frame) => typingIn.show(frame.username),
  [FRAME.STOP_TYPING]: (frame) => typingIn.hide(frame.username),
  [FRAME.ERROR]: onError,
};

socket.addEventListener('frame', ({ detail: frame }) => {
  const handler = handlers[frame.type];
  if (!handler) {
    console.debug('Charla: ignoring a frame of unknown type', frame.type);
    return;
  }
  handler(frame);
  const seq = protocol.frameSeq(frame);
  if (frame.type !== FRAME.HISTORY && seq !== null) cursor = Math.max(cursor ?? 0, seq);
  if (frame.type === FRAME.HISTORY || frame.type === FRAME.MESSAGE) readCursor.shown(cursor);
});

/** Every connection starts with a history: the whole view the first time (or when limited), else what was missed. */
function onHistory(frame) {
  const first = cursor === null;
  const fresh = first || frame.limited;
  const stick = fresh || list.isNearBottom();
  frame.mensajes.forEach(confirmSent);
  if (fresh) {
    list.reset(frame.mensajes);
    history.setHasMore(frame.mensajes.length >= protocol.HISTORY_SIZE);
    // Not max(): a limited history may come from a room that went back in time (a restored database).
    cursor = frame.seq;
  } else {
    for (const msg of frame.mensajes) list.apply(msg, { hasOlder: history.hasMore });
    cursor = Math.max(cursor, frame.seq);
  }
  if (stick) list.scrollToBottom();
  if (first) {
    showFirstUnread(ui.messages, {
      lastReadSeq: config.lastReadSeq,
      userId: config.userId,
      text: t('unread_divider'),
      jumpButton: byId('saltar-no-leidos'),
    });
  }
  ready = true;
  for (const pending of outbox.values()) socket.send(pending);
}

function onMessage(msg) {
  const stick = list.isNearBottom();
  const sentHere = confirmSent(msg);
  list.apply(msg, { hasOlder: history.hasMore });
  if (sentHere || stick) list.scrollToBottom();
  else ui.newMessages.hidden = false;
  if (msg.autor_id !== config.userId) {
    typingIn.hide(msg.autor);
    countUnread();
  }
}

/** If `msg` was sent from this page, stop showing (and resending) its pending copy; returns whether it was. */
function confirmSent(msg) {
  if (msg.autor_id !== config.userId || !msg.client_id || !outbox.delete(msg.client_id)) return false;
  retries.delete(msg.client_id);
  list.dropPending(msg.client_id);
  return true;
}

/** Show an error; a refused send stops being pending and its text goes back to the composer. */
function onError(frame) {
  if (frame.code === protocol.ERROR_CODE.MASS_MENTION_CONFIRM && outbox.has(frame.client_id)) {
    confirmMassMention(frame.client_id, frame.miembros);
    return;
  }
  if (retryLater(frame)) return;
  const refused = frame.client_id && outbox.get(frame.client_id);
  if (refused) {
    outbox.delete(frame.client_id);
    list.dropPending(frame.client_id);
    if (!ui.input.value) ui.input.value = refused.mensaje;
  }
  showError(frame.error);
}

/** A send the server failed to store (a database blip) stays pending and goes again, a few times,
 * with the same client_id, so that it can never be stored twice. */
const RETRYABLE = new Set([protocol.ERROR_CODE.STORE_FAILED, protocol.ERROR_CODE.SERVER_ERROR]);
const RETRY_DELAYS_MS = [1000, 3000, 9000];
const retries = new Map(); // client_id -> tries so far
function retryLater(frame) {
  const tries = retries.get(frame.client_id) ?? 0;
  if (!RETRYABLE.has(frame.code) || !outbox.has(frame.client_id) || tries >= RETRY_DELAYS_MS.length) {
    retries.delete(frame.client_id);
    return false;
  }
  retries.set(frame.client_id, tries + 1);
  setTimeout(() => {
    const pending = outbox.get(frame.client_id);
    if (pending && ready) socket.send(pending); // else the reconnect resends the whole outbox
  }, RETRY_DELAYS_MS[tries]);
  return true;
}

/** An @room in a large room: ask before notifying everyone; confirmed, the send goes again with the key. */
const asking = new Set();
let questions = Promise.resolve(); // one question at a time, in the order the sends were refused
function confirmMassMention(clientId, people) {
  if (asking.has(clientId)) return; // refused again after a reconnect while the question is open
  asking.add(clientId);
  questions = questions.then(async () => {
    const confirmed = await ask(byId('confirmar-mencion'), t('mass_mention_confirm', { count: people }));
    asking.delete(clientId);
    const pending = outbox.get(clientId);
    if (!pending) return; // discarded meanwhile
    if (confirmed) {
      const frame = protocol.confirmedSend(pending);
      outbox.set(clientId, frame);
      if (ready) socket.send(frame);
      return;
    }
    outbox.delete(clientId);
    list.dropPending(clientId);
    if (!ui.input.value) ui.input.value = pending.mensaje;
    ui.input.focus();
  });
}

function notice(key, username) {
  if (username === config.username) return;
  const stick = list.isNearBottom();
  list.addSystemLine(t(key, { user: username }));
  if (stick) list.scrollToBottom();
}

function showError(text) {
  ui.errorBanner.querySelector('.error-banner-text').textContent = text;
  ui.errorBanner.hidden = false;
}

ui.errorBanner.querySelector('[data-action="dismiss-error"]').addEventListener('click', () => {
  ui.errorBanner.hidden = true;
});

// Connection status, in the tutorial's classes: estado-success, estado-error (and estado-warning).

const STATUS_TONE = {
  [STATE.CONNECTING]: 'warning',
  [STATE.CONNECTED]: 'success',
  [STATE.RECONNECTING]: 'warning',
  [STATE.OFFLINE]: 'error',
  [STATE.CLOSED]: 'error',
};

socket.addEventListener('status', ({ detail }) => {
  ui.status.textContent = t(detail.state);
  ui.status.className = `estado estado-${STATUS_TONE[detail.state]}`;
  ui.status.dataset.state = detail.state;
  root.classList.toggle('is-disconnected', detail.state !== STATE.CONNECTED);
  if (detail.state !== STATE.CONNECTED) {
    ready = false;
    typingIn.clear();
  }
});

socket.addEventListener('fatal', ({ detail }) => {
  const [text, linkText, href] = {
    [protocol.CLOSE.UNAUTHENTICATED]: [t('fatal_unauthenticated'), t('log_in'), config.loginUrl],
    [protocol.CLOSE.NOT_FOUND]: [t('fatal_not_found'), t('back_to_rooms'), config.roomListUrl],
  }[detail.code] ?? [t('fatal_forbidden'), t('back_to_rooms'), config.roomListUrl];
  const box = byId('tpl-fatal').content.firstElementChild.cloneNode(true);
  box.querySelector('.fatal-text').textContent = text;
  const link = box.querySelector('.fatal-link');
  link.textContent = linkText;
  link.href = href;
  ui.form.closest('.composer-area').replaceWith(box);
  online = new Set();
  showOnline();
});

// Writing, editing, deleting.

setupComposer(ui.form, ui.input, {
  onSend(text) {
    if (text.length > config.maxChars) {
      showError(t('too_long', { limit: config.maxChars }));
      return false;
    }
    const clientId = protocol.newClientId();
    const frame = protocol.sendMessage(text, clientId);
    outbox.set(clientId, frame);
    list.addPending(clientId, text, config.username);
    if (ready) socket.send(frame);
    list.scrollToBottom();
    return true;
  },
  onTyping: () => typingOut.input(),
  onIdle: () => typingOut.stop(),
  onEditLast() {
    const mine = ui.messages.querySelectorAll('.message.own[data-id]');
    if (!mine.length) return false;
    startEdit(Number(mine[mine.length - 1].dataset.id));
    return true;
  },
});

const startEdit = setupMessageActions(ui.messages, {
  list,
  // Edits and deletions are not queued: acting on a message one cannot see updated is a surprise.
  sendNow(frame) {
    if (ready && socket.send(frame)) return true;
    showError(t('not_connected'));
    return false;
  },
  confirmDelete: () => window.confirm(t('confirm_delete')),
  discard(clientId) {
    outbox.delete(clientId);
    list.dropPending(clientId);
  },
  afterEdit: () => ui.input.focus(),
});

// Reading position: the "new messages" pill and the unread count in the tab title.

let pinnedToBottom = true;
ui.messages.addEventListener('scroll', () => {
  pinnedToBottom = list.isNearBottom();
  if (!pinnedToBottom) return;
  ui.newMessages.hidden = true;
  readCursor.update();
}, { passive: true });
// The list shrinks when the error banner shows or the composer grows: stay at the bottom if there.
new ResizeObserver(() => {
  if (pinnedToBottom) list.scrollToBottom();
}).observe(ui.messages);

ui.newMessages.addEventListener('click', () => {
  list.scrollToBottom();
  ui.newMessages.hidden = true;
});

const baseTitle = document.title;
let unread = 0;

function countUnread() {
  if (!document.hidden) return;
  unread += 1;
  document.title = `(${unread}) ${baseTitle}`;
}

document.addEventListener('visibilitychange', () => {
  if (document.hidden) return;
  unread = 0;
  document.title = baseTitle;
});

// The sidebar is a drawer on small screens; a tap beside it closes it.
const sidebarToggle = document.querySelector('[data-action="toggle-sidebar"]');
function toggleSidebar(open) {
  root.classList.toggle('sidebar-open', open);
  sidebarToggle.setAttribute('aria-expanded', String(open));
}
sidebarToggle.addEventListener('click', () => toggleSidebar(!root.classList.contains('sidebar-open')));
root.querySelector('.chat').addEventListener('click', (event) => {
  if (!root.classList.contains('sidebar-open') || event.target === sidebarToggle) return;
  event.preventDefault();
  event.stopPropagation();
  toggleSidebar(false);
}, { capture: true });

socket.start();
// On touch screens focusing would pop up the keyboard over the conversation.
if (window.matchMedia('(hover: hover)').matches) ui.input.focus();
