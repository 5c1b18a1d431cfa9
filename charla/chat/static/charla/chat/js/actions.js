/** What one can do to a message on screen: edit inline, delete, discard an unsent one. */

import { autosize, isSubmitKey } from './composer.js';
import * as protocol from './protocol.js';

/**
 * Handle the buttons and editor keys inside the message list.
 * @param {HTMLElement} container the message list element
 * @param {{list: import('./messages.js').MessageList, sendNow: (frame: object) => boolean,
 *   confirmDelete: () => boolean, discard: (clientId: string) => void, afterEdit: () => void}} options
 * @returns {(id: number) => void} opens the editor of a message
 */
export function setupMessageActions(container, { list, sendNow, confirmDelete, discard, afterEdit }) {
  function startEdit(id) {
    const input = list.openEditor(id);
    if (!input) return;
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    autosize(input);
  }

  function stopEdit(id) {
    list.closeEditor(id);
    afterEdit();
  }

  function saveEdit(id) {
    const article = list.get(id);
    const input = article?.querySelector('.message-edit-input');
    if (!input) return;
    const text = input.value.trim();
    const unchanged = text === article.querySelector('.message-content').textContent;
    // On failure sendNow explains why, and the editor stays open with the text.
    if (!text || unchanged || sendNow(protocol.editMessage(id, text))) stopEdit(id);
  }

  const commands = {
    edit: startEdit,
    save: saveEdit,
    cancel: stopEdit,
    delete: (id) => {
      if (confirmDelete()) sendNow(protocol.deleteMessage(id));
    },
    discard: (id, article) => discard(article.dataset.clientId),
  };

  container.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) {
      revealOnTap(event.target.closest('.message'));
      return;
    }
    const article = button.closest('.message');
    const command = article && commands[button.dataset.action];
    if (command) command(Number(article.dataset.id), article);
  });

  // Without hover (touch screens) a tap on a message shows its buttons.
  const touch = window.matchMedia('(hover: none)');
  function revealOnTap(article) {
    if (!touch.matches) return;
    for (const other of container.querySelectorAll('.message.show-actions')) {
      if (other !== article) other.classList.remove('show-actions');
    }
    if (!article?.classList.toggle('show-actions')) return;
    // The actions open below the message: at the bottom of the list they would be out of view.
    article.querySelector('.message-actions')?.scrollIntoView({ block: 'nearest' });
  }

  container.addEventListener('keydown', (event) => {
    if (!event.target.matches('.message-edit-input')) return;
    const id = Number(event.target.closest('.message').dataset.id);
    if (isSubmitKey(event)) {
      event.preventDefault();
      saveEdit(id);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      stopEdit(id);
    }
  });

  container.addEventListener('input', (event) => {
    if (event.target.matches('.message-edit-input')) autosize(event.target);
  });

  return startEdit;
}
