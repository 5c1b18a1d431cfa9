/** Small touches on every page: avatars, dismissible flashes, confirmations, the language menu. */

import { paintAvatar } from './avatar.js';

for (const avatar of document.querySelectorAll('[data-avatar]')) paintAvatar(avatar, avatar.dataset.avatar);

document.addEventListener('click', (event) => {
  const close = event.target.closest('[data-action="dismiss-flash"]');
  if (close) close.closest('.flash')?.remove();
});

document.addEventListener('submit', (event) => {
  const question = event.target.dataset?.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

const language = document.querySelector('select[data-autosubmit]');
if (language) {
  language.form.querySelector('.lang-submit')?.setAttribute('hidden', '');
  language.addEventListener('change', () => language.form.requestSubmit());
}
