/**
 * The notifications socket's protocol as the browser sees it (it only listens).
 * charla/notifications/protocol.py is the reference.
 */

import { socketOrigin } from '../../chat/js/connection.js';

/** Server → client frame types. */
export const NOTIFY = Object.freeze({
  HISTORY: 'historial_notificaciones',
  ANNOUNCEMENT: 'notificacion',
  PERSONAL: 'notificacion_personal',
  ROOM_ACTIVITY: 'actividad_sala',
  ROOM_READ: 'sala_leida',
  READ: 'notificaciones_leidas',
});

/** The notifications socket's address; `base` is the path the sockets live under (data-socket-base). */
export function notificationsUrl(base = '/ws/', location = window.location) {
  return `${socketOrigin(location)}${base}notifications/`;
}
