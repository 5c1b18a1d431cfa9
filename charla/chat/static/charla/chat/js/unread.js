/**
 * The room page's reading position: the "new messages" divider and pill, the read cursor
 * sent to the server, and the unread count in the tab's title.
 */

import { markRead } from './protocol.js';

const MARK_READ_DELAY_MS = 1000;

/**
 * Put a divider right above the first message after the user's read cursor written by
 * someone else, open the view there, and keep two ways at hand: back to the divider
 * (`jumpButton`, while it is out of view) and down to the newest (`latestButton`, while
 * the newest is out of view). Returns the divider, or null when nothing was unread.
 */
export function showFirstUnread(container, { lastReadSeq, userId, text, jumpButton, latestButton, isAtBottom }) {
  const first = Array.from(container.querySelectorAll('.message[data-seq]')).find(
    (el) => Number(el.dataset.seq) > lastReadSeq && Number(el.dataset.authorId) !== userId,
  );
  if (!first) return null;
  const divider = document.createElement('p');
  // A system line, so that a reset of the list (a limited history) removes it with the rest.
  divider.className = 'system-line unread-divider';
  divider.setAttribute('role', 'separator');
  divider.textContent = text;
  first.before(divider);
  first.classList.remove('continued'); // after a divider a message shows its author again
  const box = container.getBoundingClientRect();
  const at = divider.getBoundingClientRect();
  if (at.top < box.top || at.bottom > box.bottom) divider.scrollIntoView({ block: 'start' });
  if (!isAtBottom()) latestButton.hidden = false; // followNewest hides it at the bottom
  const observer = new IntersectionObserver(
    ([entry]) => {
      jumpButton.hidden = entry.isIntersecting || !divider.isConnected;
      if (!divider.isConnected) observer.disconnect();
    },
    { root: container },
  );
  observer.observe(divider);
  jumpButton.addEventListener('click', () => {
    if (divider.isConnected) divider.scrollIntoView({ block: 'start', behavior: 'smooth' });
    jumpButton.hidden = true;
  });
  return divider;
}

/**
 * Tells the server (`leido`) how far the reader has seen the room: at most once a second,
 * only while the page is visible and the list is at its newest message.
 */
export class ReadCursor {
  #send;
  #isAtBottom;
  #timer = null;
  #latest = 0;
  #sent = 0;

  /** @param {{send: (frame: object) => boolean, isAtBottom: () => boolean}} hooks */
  constructor({ send, isAtBottom }) {
    this.#send = send;
    this.#isAtBottom = isAtBottom;
    document.addEventListener('visibilitychange', () => this.update());
  }

  /** The page now shows the room up to event `seq`. */
  shown(seq) {
    this.#latest = Math.max(this.#latest, seq);
    this.update();
  }

  /** Report the position soon if the reader is looking at the newest messages. */
  update() {
    if (this.#timer || this.#latest <= this.#sent) return;
    if (document.visibilityState !== 'visible' || !this.#isAtBottom()) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (document.visibilityState === 'visible' && this.#send(markRead(this.#latest))) this.#sent = this.#latest;
    }, MARK_READ_DELAY_MS);
  }
}

/**
 * Keep `list` at its newest message while the reader is there (also when the list shrinks,
 * as when the error banner shows or the composer grows); `pill` (shown by whoever notices
 * news out of view) scrolls down and hides once the reader is at the bottom again.
 */
export function followNewest(container, { list, pill, onAtBottom }) {
  let pinnedToBottom = true;
  container.addEventListener('scroll', () => {
    pinnedToBottom = list.isNearBottom();
    if (!pinnedToBottom) return;
    pill.hidden = true;
    onAtBottom();
  }, { passive: true });
  new ResizeObserver(() => {
    if (pinnedToBottom) list.scrollToBottom();
  }).observe(container);
  pill.addEventListener('click', () => {
    list.scrollToBottom();
    pill.hidden = true;
  });
}

/** Messages that arrived while the tab was hidden, counted in its title: "(3) #general · Charla". */
export class TitleCounter {
  #baseTitle = document.title;
  #unread = 0;

  constructor() {
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) return;
      this.#unread = 0;
      document.title = this.#baseTitle;
    });
  }

  /** Someone else's message arrived. */
  count() {
    if (!document.hidden) return;
    this.#unread += 1;
    document.title = `(${this.#unread}) ${this.#baseTitle}`;
  }
}
