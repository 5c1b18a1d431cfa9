/** Small touches on every page: avatars, relative times, dismissible flashes, confirmations, the language menu. */

import { paintAvatar } from './avatar.js';
import { formatRelative } from './i18n.js';
import { forgetAll } from './saved-sends.js';

for (const avatar of document.querySelectorAll('[data-avatar]')) paintAvatar(avatar, avatar.dataset.avatar);
// The server wrote "5 minutes ago" already; the browser says "now" for the last minute, as the bell's panel does.
for (const time of document.querySelectorAll('time[data-relative]')) {
  time.textContent = formatRelative(new Date(time.dateTime));
}

document.addEventListener('click', (event) => {
  const close = event.target.closest('[data-action="dismiss-flash"]');
  if (close) close.closest('.flash')?.remove();
});

document.addEventListener('submit', (event) => {
  const question = event.target.dataset?.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
  else if (event.target.matches('[data-logout]')) forgetAll();
});

const language = document.querySelector('select[data-autosubmit]');
if (language) {
  language.form.querySelector('.lang-submit')?.setAttribute('hidden', '');
  language.addEventListener('change', () => language.form.requestSubmit());
}

// The account menu (Settings, Log out): a disclosure that Esc and a click elsewhere close.
const accountButton = document.getElementById('boton-cuenta');
const accountPanel = document.getElementById('menu-cuenta');
if (accountButton && accountPanel) {
  const setOpen = (open) => {
    accountPanel.hidden = !open;
    accountButton.setAttribute('aria-expanded', String(open));
  };
  accountButton.addEventListener('click', () => setOpen(accountPanel.hidden));
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || accountPanel.hidden) return;
    setOpen(false);
    accountButton.focus();
  });
  document.addEventListener('click', (event) => {
    if (!accountPanel.hidden && !event.target.closest('.account-menu')) setOpen(false);
  });
}
