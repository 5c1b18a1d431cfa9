/**
 * The room page: wires the socket to the message list, the outbox of pending sends, the
 * composer, typing, presence, scroll-back, the reading position and the connection status.
 */

import { setupMessageActions } from './actions.js';
import { setupComposer } from './composer.js';
import { CLOSE, ReconnectingSocket } from './connection.js';
import { showConnectionStatus, showFatalNotice } from './connection-status.js';
import { setupDrawer } from './drawer.js';
import { HistoryLoader } from './history.js';
import { loadStrings } from './i18n.js';
import { setupMessageKeys } from './message-keys.js';
import { MessageList } from './messages.js';
import { PendingSends } from './pending-sends.js';
import { SavedSends } from './saved-sends.js';
import { OnlineList } from './presence.js';
import * as protocol from './protocol.js';
import { RoomFeed } from './room-feed.js';
import { TypingIndicator, TypingNotifier } from './typing.js';
import { ReadCursor, TitleCounter, followNewest } from './unread.js';

const root = document.getElementById('chat-app');
const config = {
  room: root.dataset.room,
  roomId: Number(root.dataset.roomId),
  userId: Number(root.dataset.userId),
  username: root.dataset.username,
  isOwner: root.dataset.isOwner === 'true',
  messagesUrl: root.dataset.messagesUrl,
  roomListUrl: root.dataset.roomListUrl,
  loginUrl: root.dataset.loginUrl,
  socketBase: root.dataset.socketBase,
  maxChars: Number(root.dataset.maxChars) || 4000,
  lastReadSeq: Number(root.dataset.lastReadSeq) || 0,
  historySize: Number(root.dataset.historySize), // settings.CHARLA_HISTORY_SIZE
};
const byId = (id) => document.getElementById(id);
const ui = {
  messages: byId('mensajes'),
  status: byId('estado-conexion'),
  form: byId('form-mensaje'),
  input: byId('input-mensaje'),
  errorBanner: byId('error-banner'),
  newMessages: byId('nuevos-mensajes'),
  jumpToUnread: byId('saltar-no-leidos'),
  limit: byId('limite-mensaje'),
};
const t = loadStrings();

function showError(text) {
  ui.errorBanner.querySelector('.error-banner-text').textContent = text;
  ui.errorBanner.hidden = false;
}

ui.errorBanner.querySelector('[data-action="dismiss-error"]').addEventListener('click', () => {
  ui.errorBanner.hidden = true;
});

// Whether the current connection has delivered its history (sends wait for it).
let ready = false;
const socket = new ReconnectingSocket(() => protocol.socketUrl(config.room, feed.cursor, config.socketBase), {
  fatalCodes: protocol.FATAL_CLOSE_CODES,
});
const sendWhenReady = (frame) => ready && socket.send(frame);

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
  pageSize: config.historySize,
});
const saved = new SavedSends(config.userId, config.roomId);
const pending = new PendingSends({
  list,
  send: sendWhenReady,
  input: ui.input,
  dialog: byId('confirmar-mencion'),
  t,
  saved,
});
// What an earlier page left unsent (a reload, a session that ended) goes out once connected.
pending.restore(config.username);
ui.input.value ||= saved.takeDraft();
// Leaving the page (a reload, a closed tab) keeps what was being written, unless the room is not the person's any more.
let roomLost = false;
window.addEventListener('pagehide', () => {
  if (!roomLost) saved.saveDraft(ui.input.value.trim());
});
const online = new OnlineList(byId('usuarios-en-linea'), byId('total-en-linea'), { me: config.username, t });
const typingIn = new TypingIndicator(byId('usuarios-escribiendo'), t);
const typingOut = new TypingNotifier(sendWhenReady);
const readCursor = new ReadCursor({ send: sendWhenReady, isAtBottom: () => list.isNearBottom() });

const feed = new RoomFeed({
  ui,
  me: { userId: config.userId, username: config.username, lastReadSeq: config.lastReadSeq },
  t,
  list,
  history,
  pending,
  online,
  typing: typingIn,
  readCursor,
  titleCounter: new TitleCounter(),
  showError,
  onReady() {
    ready = true;
    pending.resendAll();
  },
});
socket.addEventListener('frame', ({ detail: frame }) => feed.handle(frame));

showConnectionStatus(socket, {
  indicator: ui.status,
  root,
  t,
  onDown() {
    ready = false;
    typingIn.clear();
  },
});
showFatalNotice(socket, {
  template: byId('tpl-fatal'),
  replaced: ui.form.closest('.composer-area'),
  t,
  loginUrl: config.loginUrl,
  roomListUrl: config.roomListUrl,
  keptNote: () => (pending.size || ui.input.value.trim() ? t('kept_for_login') : ''),
  onFatal(code) {
    online.reset([]);
    if (code === CLOSE.UNAUTHENTICATED) {
      saved.saveDraft(ui.input.value.trim()); // the composer is replaced: its text waits for the next login
    } else {
      roomLost = true;
      saved.clear(); // removed from the room, or it is gone: nothing of it goes out later
    }
  },
});

// Writing, editing, deleting.

/** A text over the limit (typed or pasted) stays whole in the composer, with a note of how much to cut. */
function showLimit() {
  const over = ui.input.value.trim().length - config.maxChars;
  ui.limit.hidden = over <= 0;
  if (over > 0) ui.input.setAttribute('aria-invalid', 'true'); // toggleAttribute's "" would read as false
  else ui.input.removeAttribute('aria-invalid');
  if (over > 0) ui.limit.textContent = t('over_limit', { over, limit: config.maxChars });
}
ui.input.addEventListener('input', showLimit);

setupComposer(ui.form, ui.input, {
  onSend(text) {
    if (text.length > config.maxChars) {
      showError(t('too_long', { limit: config.maxChars }));
      return false;
    }
    pending.add(text, config.username);
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
    if (sendWhenReady(frame)) return true;
    showError(t('not_connected'));
    return false;
  },
  confirmDelete: () => window.confirm(t('confirm_delete')),
  discard: (clientId) => pending.discard(clientId),
  afterEdit: () => ui.input.focus(),
});

followNewest(ui.messages, { list, pill: ui.newMessages, onAtBottom: () => readCursor.update() });
setupMessageKeys(ui.messages);
setupDrawer(root, root.querySelector('[data-action="toggle-sidebar"]'), root.querySelector('.chat'));

socket.start();
// On touch screens focusing would pop up the keyboard over the conversation.
if (window.matchMedia('(hover: hover)').matches) ui.input.focus();
