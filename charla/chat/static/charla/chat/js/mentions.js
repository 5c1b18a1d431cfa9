/** @mentions in message text: found as the server finds them, shown as <span class="mention">. */

// Python's \w (charla/notifications/services.py MENTION) is Unicode-aware; JavaScript's \w is
// ASCII even with the u flag, so spell it out with Unicode properties.
const WORD = '\\p{L}\\p{N}_';
const MENTION = new RegExp(`(?<![${WORD}@.])@([${WORD}.+-]+[${WORD}+-]|[${WORD}])`, 'gu');

/** Mentions that reach everyone in the room. */
const ROOM_WIDE = new Set(['sala', 'room']);

/**
 * Put `text` into `element` as text nodes, each @mention wrapped in a span
 * (`.mention-me` when it reaches `me`). Never parses the text as HTML.
 */
export function renderWithMentions(element, text, me = '') {
  const self = me.toLowerCase();
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    const span = document.createElement('span');
    const name = match[1].toLowerCase();
    span.className = name === self || ROOM_WIDE.has(name) ? 'mention mention-me' : 'mention';
    span.textContent = match[0];
    parts.push(span);
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  element.replaceChildren(...parts);
}
