/** Scroll-back: older messages over HTTP when the reader reaches the top of the list. */

const PAGE_SIZE = 50;
const TOP_THRESHOLD_PX = 48;

export class HistoryLoader {
  #list;
  #container;
  #url;
  #button;
  #beginning;
  #onError;
  #loading = false;
  #ready = false;
  #autoPaused = false; // after a failure, only the button retries (no request per scroll event)
  hasMore = false;

  /**
   * @param {import('./messages.js').MessageList} list
   * @param {{container: HTMLElement, url: string, button: HTMLButtonElement, beginning: HTMLElement, onError: (text: string) => void}} options
   */
  constructor(list, { container, url, button, beginning, onError }) {
    this.#list = list;
    this.#container = container;
    this.#url = url;
    this.#button = button;
    this.#beginning = beginning;
    this.#onError = onError;
    button.addEventListener('click', () => {
      this.#autoPaused = false;
      this.loadOlder();
    });
    container.addEventListener('scroll', () => {
      if (!this.#autoPaused && container.scrollTop < TOP_THRESHOLD_PX) this.loadOlder();
    }, { passive: true });
  }

  /** Whether older messages may exist on the server, after a history frame. */
  setHasMore(hasMore) {
    this.hasMore = hasMore;
    this.#ready = true;
    this.#refresh();
  }

  async loadOlder() {
    if (!this.#ready || !this.hasMore || this.#loading) return;
    const oldest = this.#list.oldest;
    const url = new URL(this.#url, window.location.href);
    if (oldest) url.searchParams.set('before', String(oldest.id));
    url.searchParams.set('limit', String(PAGE_SIZE));
    this.#loading = true;
    this.#refresh();
    try {
      const response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      const data = await response.json().catch(() => ({}));
      if (!response.ok || !Array.isArray(data.mensajes)) throw new Error(data.error || `HTTP ${response.status}`);
      this.#list.prepend(data.mensajes);
      this.hasMore = Boolean(data.hay_mas);
    } catch (error) {
      this.#autoPaused = true;
      console.warn('Charla: scroll-back failed', error);
      this.#onError(error);
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
