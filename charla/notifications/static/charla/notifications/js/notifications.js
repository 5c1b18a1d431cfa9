/**
 * Every logged-in page: the notifications socket feeds the bell and its panel, toasts,
 * desktop notifications and the rooms' unread badges. Frames go through one dispatch table.
 */

import { CLOSE, ReconnectingSocket } from '../../chat/js/connection.js';
import { loadStrings } from '../../chat/js/i18n.js';
import { setupDesktopControl, showDesktop } from './desktop.js';
import { NotificationCenter, fromFrame } from './notification-center.js';
import { NOTIFY, notificationsUrl } from './protocol.js';
import { addToRoom, clearRoom, setRoom } from './room-badges.js';
import { Toaster } from './toasts.js';

const byId = (id) => document.getElementById(id);
const menu = byId('notificaciones');
const me = menu.dataset.username;
const t = loadStrings('notificaciones-i18n');

const toaster = new Toaster(byId('toasts'), byId('tpl-toast'));
const center = new NotificationCenter(
  {
    menu,
    bell: byId('campana-notificaciones'),
    counter: byId('notificaciones-contador'),
    panel: byId('panel-notificaciones'),
    list: byId('lista-notificaciones'),
    empty: byId('notificaciones-vacio'),
    markAll: byId('marcar-todas-leidas'),
    template: byId('tpl-notificacion'),
  },
  {
    readUrl: menu.dataset.readUrl,
    t,
    onError: (text) => toaster.show({ title: text, message: '', className: 'toast-error' }),
  },
);
setupDesktopControl(byId('escritorio'), byId('activar-escritorio'));

const socket = new ReconnectingSocket(() => notificationsUrl(menu.dataset.socketBase), { fatalCodes: new Set([CLOSE.UNAUTHENTICATED]) });

const handlers = {
  [NOTIFY.HISTORY]: onHistory,
  [NOTIFY.ANNOUNCEMENT]: (frame) => arrived(fromFrame(frame)),
  [NOTIFY.PERSONAL]: (frame) => arrived(fromFrame(frame)),
  [NOTIFY.ROOM_ACTIVITY]: onRoomActivity,
  [NOTIFY.ROOM_READ]: (frame) => clearRoom(frame.sala),
  [NOTIFY.READ]: (frame) => center.markedRead(frame.ids, frame.anuncios),
};

socket.addEventListener('frame', ({ detail: frame }) => {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
  else console.debug('Charla: ignoring a notification frame of unknown type', frame.type);
});

socket.addEventListener('status', ({ detail }) => {
  menu.dataset.state = detail.state;
});

/** A live notification: listed and counted, and shown as a toast (and on the desktop while the tab is hidden). */
function arrived(item) {
  if (!center.add(item) || item.read || isOnScreen(item)) return;
  const open = () => center.open(item);
  toaster.show({
    title: item.title,
    message: item.message,
    className: item.kind === 'anuncio' ? `toast-${item.priority}` : `toast-${item.kind}`,
    sticky: item.kind === 'anuncio' && item.priority === 'alta',
    onOpen: open,
  });
  // Desktop notifications off in the person's settings: toasts only.
  if (menu.dataset.desktopWanted !== 'off') {
    showDesktop({ title: item.title, body: item.message, tag: `charla-${item.key}`, onClick: open });
  }
}

/** The room open on this page, while someone can see it. */
function watchedRoom() {
  return document.visibilityState === 'visible' ? (byId('chat-app')?.dataset.room ?? null) : null;
}

/** A mention of the room one is looking at needs no toast: the message is right there. */
function isOnScreen(item) {
  return item.url !== null && watchedRoom() !== null && new URL(item.url).pathname === window.location.pathname;
}

/** A message in one of my rooms: count it, unless it is mine or its room is on screen (the page reads it). */
/** Every (re)connection: the unread list and count, and every room's badges, from the server. */
function onHistory(frame) {
  center.reset(frame.notificaciones.map(fromFrame), frame.no_leidas);
  for (const [room, counts] of Object.entries(frame.salas ?? {})) {
    if (room === watchedRoom()) continue; // the page being read keeps its own (zero) count
    setRoom(room, { unread: counts.no_leidos, mentions: counts.menciones });
  }
}

function onRoomActivity(frame) {
  if (frame.sala === watchedRoom()) return;
  addToRoom(frame.sala, {
    unread: frame.autor === me ? 0 : 1,
    mentions: frame.menciones.includes(me) ? 1 : 0,
  });
}

socket.start();
