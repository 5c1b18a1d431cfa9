/**
 * A WebSocket that reconnects by itself: exponential backoff with full jitter, a fresh
 * address (and so a fresh resume cursor) on every attempt, and no retry after a close
 * code that says retrying cannot help.
 *
 * Events: `status` (detail: {state, delay?, code?}) with state connecting | connected |
 * reconnecting | offline | closed; `open`; `frame` (detail: the parsed JSON object);
 * `fatal` (detail: {code}).
 */

/** Application close codes (charla/realtime/sockets.py) that both sockets use. */
export const CLOSE = Object.freeze({ UNAUTHENTICATED: 4401, FORBIDDEN: 4403, NOT_FOUND: 4404 });

/** `ws://host` or `wss://host` for this page's own origin. */
export function socketOrigin(location = window.location) {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}`;
}

export const STATE = Object.freeze({
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  RECONNECTING: 'reconnecting',
  OFFLINE: 'offline',
  CLOSED: 'closed',
});

export class ReconnectingSocket extends EventTarget {
  #buildUrl;
  #options;
  #socket = null;
  #attempt = 0;
  #retryTimer = null;
  #stableTimer = null;
  #everOpened = false;
  #stopped = false;

  /**
   * @param {() => string} buildUrl called before every attempt
   * @param {{baseDelay?: number, maxDelay?: number, stableAfter?: number, fatalCodes?: Set<number>}} options
   */
  constructor(buildUrl, options = {}) {
    super();
    this.#buildUrl = buildUrl;
    this.#options = { baseDelay: 500, maxDelay: 15000, stableAfter: 10000, fatalCodes: new Set(), ...options };
    this.state = STATE.CONNECTING;
  }

  get isOpen() {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  start() {
    window.addEventListener('online', () => this.#reconnectNow());
    // A dead network rarely closes a socket promptly; let the close path take over.
    window.addEventListener('offline', () => this.#socket?.close());
    window.addEventListener('pagehide', () => this.#socket?.close(1000));
    window.addEventListener('pageshow', (event) => {
      if (event.persisted) this.#reconnectNow();
    });
    this.#connect();
  }

  /** Send a frame if the socket is open; returns whether it went out. */
  send(frame) {
    if (!this.isOpen) return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  /** Close for good. */
  stop() {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#stableTimer);
    this.#socket?.close(1000);
  }

  #connect() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (this.#stopped) return;
    this.#setState(this.#everOpened ? STATE.RECONNECTING : STATE.CONNECTING);
    const socket = new WebSocket(this.#buildUrl());
    this.#socket = socket;
    socket.addEventListener('open', () => this.#onOpen(socket));
    socket.addEventListener('message', (event) => this.#onMessage(socket, event));
    socket.addEventListener('close', (event) => this.#onClose(socket, event));
  }

  #onOpen(socket) {
    if (socket !== this.#socket) return;
    this.#everOpened = true;
    // Only a connection that stays up resets the backoff; a server that accepts and
    // then drops at once must not be hammered.
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, this.#options.stableAfter);
    this.#setState(STATE.CONNECTED);
    this.dispatchEvent(new Event('open'));
  }

  #onMessage(socket, event) {
    if (socket !== this.#socket || typeof event.data !== 'string') return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      console.warn('Charla: ignoring a frame that is not JSON');
      return;
    }
    if (frame && typeof frame === 'object') this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
  }

  #onClose(socket, event) {
    if (socket !== this.#socket) return;
    clearTimeout(this.#stableTimer);
    this.#socket = null;
    if (this.#stopped) return;
    if (this.#options.fatalCodes.has(event.code)) {
      this.#stopped = true;
      this.#setState(STATE.CLOSED, { code: event.code });
      this.dispatchEvent(new CustomEvent('fatal', { detail: { code: event.code } }));
      return;
    }
    this.#scheduleRetry(event.code);
  }

  #scheduleRetry(code) {
    if (navigator.onLine === false) {
      this.#setState(STATE.OFFLINE, { code });
      return; // the `online` event reconnects
    }
    // Full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/):
    // clients dropped together by a restart do not come back together.
    const { baseDelay, maxDelay } = this.#options;
    const ceiling = Math.min(maxDelay, baseDelay * 2 ** this.#attempt);
    const delay = Math.round(Math.random() * ceiling);
    this.#attempt += 1;
    this.#setState(STATE.RECONNECTING, { delay, code });
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #reconnectNow() {
    if (this.#stopped || this.#socket) return;
    this.#attempt = 0;
    this.#connect();
  }

  #setState(state, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('status', { detail: { state, ...extra } }));
  }
}
