/**
 * The notifications socket's protocol as the browser sees it (it only listens).
 * notifications/protocol.py is the reference.
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

/** The notifications socket's address. */
export function notificationsUrl(location = window.location) {
  return `${socketOrigin(location)}/ws/notifications/`;
}
