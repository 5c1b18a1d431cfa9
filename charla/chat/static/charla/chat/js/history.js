/** Scroll-back: older messages over HTTP when the reader reaches the top of the list. */

const TOP_THRESHOLD_PX = 48;

export class HistoryLoader {
  #list;
  #container;
  #url;
  #button;
  #beginning;
  #onError;
  #pageSize;
  #loading = false;
  #ready = false;
  #autoPaused = false; // after a failure, only the button retries (no request per scroll event)
  hasMore = false;

  /**
   * @param {import('./messages.js').MessageList} list
   * @param {{container: HTMLElement, url: string, button: HTMLButtonElement, beginning: HTMLElement,
   *   onError: (text: string) => void, pageSize: number}} options
   *   pageSize: the server's history size (settings.CHARLA_HISTORY_SIZE); a fresh history that fills it may have older messages
   */
  constructor(list, { container, url, button, beginning, onError, pageSize }) {
    this.#list = list;
    this.#container = container;
    this.#url = url;
    this.#button = button;
    this.#beginning = beginning;
    this.#onError = onError;
    this.#pageSize = pageSize;
    button.addEventListener('click', () => {
      this.#autoPaused = false;
      this.loadOlder();
    });
    container.addEventListener('scroll', () => {
      if (!this.#autoPaused && container.scrollTop < TOP_THRESHOLD_PX) this.loadOlder();
    }, { passive: true });
  }

  /** A fresh `historial` of `count` messages came: a full one means older messages may exist. */
  afterHistory(count) {
    this.hasMore = count >= this.#pageSize;
    this.#ready = true;
    this.#refresh();
  }

  /**
   * Load older pages until `reached()` says so, there is nothing older, or `maxPages` were
   * loaded (opening a room at its first unread message, which may be pages back).
   */
  async loadUntil(reached, maxPages) {
    for (let page = 0; page < maxPages && this.hasMore && !reached(); page += 1) {
      if (!(await this.loadOlder())) return;
    }
  }

  /** One older page; returns whether one came. */
  async loadOlder() {
    if (!this.#ready || !this.hasMore || this.#loading) return false;
    const oldest = this.#list.oldest;
    const url = new URL(this.#url, window.location.href);
    if (oldest) url.searchParams.set('before', String(oldest.id));
    // No `limit`: the server's page is its history size, the size of the first history too.
    this.#loading = true;
    this.#refresh();
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      const data = await response.json().catch(() => ({}));
      if (!response.ok || !Array.isArray(data.mensajes)) throw new Error(data.error || `HTTP ${response.status}`);
      this.#list.prepend(data.mensajes);
      this.hasMore = Boolean(data.hay_mas);
      return true;
    } catch (error) {
      this.#autoPaused = true;
      console.warn('Charla: scroll-back failed', error);
      this.#onError(error);
      return false;
    } finally {
      this.#loading = false;
      this.#refresh();
    }
  }

  #refresh() {
    this.#button.hidden = !this.#ready || !this.hasMore;
    this.#button.disabled = this.#loading;
    this.#button.setAttribute('aria-busy', String(this.#loading));
    this.#beginning.hidden = !this.#ready || this.hasMore;
    this.#container.classList.toggle('loading-older', this.#loading);
  }
}
