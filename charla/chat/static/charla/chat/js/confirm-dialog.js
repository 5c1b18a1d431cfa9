/** A modal yes/no question in a native <dialog> (focus kept inside, Escape cancels, focus returns after). */

/**
 * Ask `question` in `dialog` (a <dialog> holding a `.confirm-text` and a `<form method="dialog">`
 * whose confirming button has value="confirm"). Resolves true when confirmed, false otherwise.
 */
export function ask(dialog, question) {
  if (dialog.open) return Promise.resolve(false);
  dialog.querySelector('.confirm-text').textContent = question;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true });
    dialog.showModal();
  });
}
