/**
 * The message list by keyboard: the list is one Tab stop; the up and down arrows (and Home,
 * End) move between messages, and Tab from a message reaches its actions (Edit, Delete),
 * which show while the message has the focus.
 */

const MESSAGES = 'article.message';

/** @param {HTMLElement} container the message list (tabindex 0) */
export function setupMessageKeys(container) {
  container.addEventListener('keydown', (event) => {
    if (!['ArrowUp', 'ArrowDown', 'Home', 'End'].includes(event.key)) return;
    const current = event.target.closest?.(MESSAGES);
    if (event.target !== container && event.target !== current) return; // keys inside an editor are its own
    const all = [...container.querySelectorAll(MESSAGES)];
    if (!all.length) return;
    const at = current ? all.indexOf(current) : all.length;
    const next = {
      ArrowUp: Math.max(0, at - 1),
      ArrowDown: current ? Math.min(all.length - 1, at + 1) : all.length - 1,
      Home: 0,
      End: all.length - 1,
    }[event.key];
    event.preventDefault();
    const target = all[next];
    target.tabIndex = -1; // focusable by script, not an extra Tab stop
    target.focus();
    target.scrollIntoView({ block: 'nearest' });
  });
}
