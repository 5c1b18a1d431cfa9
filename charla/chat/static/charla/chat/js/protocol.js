/**
 * The chat socket's protocol as the browser sees it: frame types, frame builders,
 * fatal close codes and the room event cursor. charla/chat/protocol.py is the reference.
 */

import { CLOSE, socketOrigin } from './connection.js';

/** Server → client frame types. */
export const FRAME = Object.freeze({
  HISTORY: 'historial',
  MESSAGE: 'mensaje',
  EDITED: 'mensaje_editado',
  DELETED: 'mensaje_eliminado',
  JOINED: 'usuario_unido',
  LEFT: 'usuario_salio',
  ONLINE: 'usuarios_conectados',
  TYPING: 'escribiendo',
  STOP_TYPING: 'dejar_escribir',
  ERROR: 'error',
});

/** Close codes after which reconnecting to a room cannot help. */
export const FATAL_CLOSE_CODES = new Set(Object.values(CLOSE));

/** `error` codes the page answers itself (docs/protocol.md lists them all). */
export const ERROR_CODE = Object.freeze({
  MASS_MENTION_CONFIRM: 'mass_mention_confirm',
  STORE_FAILED: 'store_failed', // the database broke while storing it: send it again
  RATE_LIMITED: 'rate_limited', // too many writes: the send waits and goes again
  SERVER_ERROR: 'server_error',
});

export const sendMessage = (text, clientId) => ({ type: 'mensaje', mensaje: text, client_id: clientId });
/** A send the person confirmed after being told how many people an @room / @sala notifies. */
export const confirmedSend = (frame) => ({ ...frame, confirmar_mencion: true });
export const typing = () => ({ type: 'escribiendo' });
export const stopTyping = () => ({ type: 'dejar_escribir' });
export const editMessage = (id, text) => ({ type: 'editar', id, mensaje: text });
export const deleteMessage = (id) => ({ type: 'eliminar', id });
export const markRead = (seq) => ({ type: 'leido', seq });

/** The room event number a frame carries, or null for frames outside the room's order. */
export function frameSeq(frame) {
  switch (frame.type) {
    case FRAME.HISTORY:
    case FRAME.EDITED:
    case FRAME.DELETED:
      return Number.isInteger(frame.seq) ? frame.seq : null;
    case FRAME.MESSAGE:
      return Number.isInteger(frame.mensaje?.seq) ? frame.mensaje.seq : null;
    default:
      return null;
  }
}

/**
 * The socket address of a room, resuming after room event `after` when known; `base` is
 * the path the sockets live under (the page's data-socket-base, CHARLA_WEBSOCKET_PREFIX).
 */
export function socketUrl(room, after = null, base = '/ws/', location = window.location) {
  const query = after === null ? '' : `?after=${encodeURIComponent(after)}`;
  return `${socketOrigin(location)}${base}chat/${encodeURIComponent(room)}/${query}`;
}

/** A unique id for a send, so that the server stores a retried send only once. */
export function newClientId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  // randomUUID needs a secure context; a LAN address over plain http is not one.
  const bytes = new Uint8Array(16);
  if (globalThis.crypto?.getRandomValues) {
    crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
