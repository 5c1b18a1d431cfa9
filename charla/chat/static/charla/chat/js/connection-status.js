/**
 * The room page's connection status, in the tutorial's classes (estado-success,
 * estado-error, estado-warning), and the notice that replaces the composer after a
 * close code that reconnecting cannot help.
 */

import { CLOSE, STATE } from './connection.js';

const STATUS_TONE = {
  [STATE.CONNECTING]: 'warning',
  [STATE.CONNECTED]: 'success',
  [STATE.RECONNECTING]: 'warning',
  [STATE.OFFLINE]: 'error',
  [STATE.CLOSED]: 'error',
};

/**
 * Show `socket`'s state in `indicator` (and `is-disconnected` on `root`); `onDown` runs
 * whenever the socket is not connected.
 */
export function showConnectionStatus(socket, { indicator, root, t, onDown }) {
  socket.addEventListener('status', ({ detail }) => {
    indicator.textContent = t(detail.state);
    indicator.className = `estado estado-${STATUS_TONE[detail.state]}`;
    indicator.dataset.state = detail.state;
    root.classList.toggle('is-disconnected', detail.state !== STATE.CONNECTED);
    if (detail.state !== STATE.CONNECTED) onDown();
  });
}

/**
 * After a fatal close, put a notice cloned from `template` (text and a link: log in again,
 * or back to the rooms) in place of `replaced`; after a lost session it adds `keptNote()`
 * (what was typed is kept for after logging in). `onFatal` runs after.
 */
export function showFatalNotice(socket, { template, replaced, t, loginUrl, roomListUrl, keptNote, onFatal }) {
  socket.addEventListener('fatal', ({ detail }) => {
    const [text, linkText, href] = {
      [CLOSE.UNAUTHENTICATED]: [t('fatal_unauthenticated'), t('log_in'), loginUrl],
      [CLOSE.NOT_FOUND]: [t('fatal_not_found'), t('back_to_rooms'), roomListUrl],
    }[detail.code] ?? [t('fatal_forbidden'), t('back_to_rooms'), roomListUrl];
    const box = template.content.firstElementChild.cloneNode(true);
    const note = detail.code === CLOSE.UNAUTHENTICATED ? keptNote() : '';
    box.querySelector('.fatal-text').textContent = note ? `${text} ${note}` : text;
    const link = box.querySelector('.fatal-link');
    link.textContent = linkText;
    link.href = href;
    replaced.replaceWith(box);
    onFatal(detail.code);
  });
}
