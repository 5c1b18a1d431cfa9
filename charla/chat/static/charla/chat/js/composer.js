/** The message box: Enter sends, Shift+Enter adds a line, the box grows with its text. */

const MAX_HEIGHT_PX = 240;

/** Fit a textarea's height to its content, up to a limit. */
export function autosize(textarea) {
  textarea.style.height = 'auto';
  textarea.style.height = `${Math.min(textarea.scrollHeight, MAX_HEIGHT_PX)}px`;
}

/** True for the Enter that should submit (not Shift+Enter, not an IME composing text). */
export function isSubmitKey(event) {
  return event.key === 'Enter' && !event.shiftKey && !event.isComposing;
}

/**
 * Wire the composer form.
 * @param {{onSend: (text: string) => boolean, onTyping: () => void, onIdle: () => void, onEditLast: () => boolean}} hooks
 *   onSend returns whether the text was taken (the box is then cleared); onEditLast
 *   returns whether there was a message to edit (Arrow Up in an empty box).
 */
export function setupComposer(form, input, { onSend, onTyping, onIdle, onEditLast }) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !onSend(text)) return;
    input.value = '';
    autosize(input);
    onIdle();
  });

  input.addEventListener('keydown', (event) => {
    if (isSubmitKey(event)) {
      event.preventDefault();
      form.requestSubmit();
    } else if (event.key === 'ArrowUp' && input.value === '' && onEditLast()) {
      event.preventDefault();
    }
  });

  input.addEventListener('input', () => {
    autosize(input);
    if (input.value.trim()) onTyping();
    else onIdle();
  });
}
