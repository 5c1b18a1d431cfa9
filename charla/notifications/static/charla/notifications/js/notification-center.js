/**
 * The bell: the unread count, and a panel listing the latest notifications (the socket's
 * history, then live ones). Opening one marks it read over HTTP and follows its link.
 */

import { postJSON } from '../../chat/js/http.js';
import { formatDateTime, formatRelative } from '../../chat/js/i18n.js';
import { NOTIFY } from './protocol.js';

const MAX_LISTED = 50;

/**
 * A notification frame as the panel keeps it. Announcements are keyed by announcement (live
 * ones carry no notification id), everything else by notification id.
 */
export function fromFrame(frame) {
  const announcement = frame.type === NOTIFY.ANNOUNCEMENT;
  return {
    key: announcement ? `a${frame.anuncio_id}` : `n${frame.id}`,
    id: frame.id ?? null,
    announcementId: announcement ? frame.anuncio_id : null,
    kind: announcement ? 'anuncio' : frame.tipo,
    title: frame.titulo,
    message: frame.mensaje,
    url: safeUrl(frame.url),
    priority: frame.prioridad ?? 'normal',
    created: new Date(frame.creado),
    read: Boolean(frame.leida),
  };
}

/**
 * Only the links the server stores are followed: a path on this site, or an http(s) address.
 * A `javascript:` URL would run in the page; and since browsers read `\` as `/` and drop tabs
 * and newlines, "/\evil.example/" would leave the site: such characters are refused outright.
 */
export function safeUrl(url) {
  if (typeof url !== 'string' || url === '' || /[\s\\\u0000-\u001f\u007f-\u009f]/u.test(url)) return null;
  let parsed;
  try {
    parsed = new URL(url, window.location.href);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  const absolute = /^https?:\/\//i.test(url);
  return absolute || parsed.origin === window.location.origin ? parsed.href : null;
}

export class NotificationCenter {
  #ui;
  #readUrl;
  #t;
  #onError;
  #items = new Map(); // key → {item, el}, newest first
  #unread = 0;

  /**
   * @param {{menu: HTMLElement, bell: HTMLButtonElement, counter: HTMLElement, panel: HTMLElement,
   *   list: HTMLElement, empty: HTMLElement, markAll: HTMLButtonElement, template: HTMLTemplateElement}} ui
   * @param {{readUrl: string, t: Function, onError: (text: string) => void}} options
   */
  constructor(ui, { readUrl, t, onError }) {
    this.#ui = ui;
    this.#readUrl = readUrl;
    this.#t = t;
    this.#onError = onError;
    ui.bell.addEventListener('click', () => this.toggle(ui.panel.hidden));
    ui.markAll.addEventListener('click', () => this.markAllRead());
    ui.list.addEventListener('click', (event) => {
      const entry = this.#items.get(event.target.closest('[data-key]')?.dataset.key);
      if (entry) this.open(entry.item);
    });
    document.addEventListener('click', (event) => {
      if (!ui.panel.hidden && !ui.menu.contains(event.target)) this.toggle(false);
    });
    document.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape' || ui.panel.hidden) return;
      this.toggle(false);
      ui.bell.focus();
    });
    this.#render();
  }

  /** The socket's history: the latest unread notifications and how many are unread in all. */
  reset(items, unread) {
    this.#items.clear();
    this.#ui.list.replaceChildren();
    for (const item of [...items].reverse()) this.#insert(item);
    this.#unread = unread;
    this.#render();
  }

  /** A live notification; returns false when it was already listed (a history that raced it). */
  add(item) {
    if (this.#items.has(item.key)) return false;
    this.#insert(item);
    if (!item.read) this.#unread += 1;
    this.#render();
    return true;
  }

  /**
   * `notificaciones_leidas`: these notification ids (null: all) were marked read, here or
   * in another tab. Each id was unread until then, so the count drops by as many.
   */
  markedRead(ids, announcementIds = null) {
    if (ids === null) {
      for (const { item } of this.#items.values()) item.read = true;
      this.#unread = 0;
    } else {
      const done = new Set(ids);
      const announcements = new Set(announcementIds ?? []);
      for (const { item } of this.#items.values()) {
        if (done.has(item.id) || announcements.has(item.announcementId)) item.read = true;
      }
      this.#unread = Math.max(0, this.#unread - ids.length);
    }
    this.#render();
  }

  /** Mark one read and follow its link. The count follows the server's `notificaciones_leidas`. */
  async open(item) {
    if (!item.read) {
      item.read = true;
      this.#render();
      const body = item.announcementId === null ? { ids: [item.id] } : { anuncios: [item.announcementId] };
      await this.#post(body, () => {
        item.read = false;
        this.#render();
      });
    }
    const url = safeUrl(item.url);
    if (url) window.location.assign(url);
  }

  async markAllRead() {
    const unread = [...this.#items.values()].map(({ item }) => item).filter((item) => !item.read);
    for (const item of unread) item.read = true;
    this.#render();
    await this.#post({}, () => {
      for (const item of unread) item.read = false;
      this.#render();
    });
  }

  toggle(open) {
    this.#ui.panel.hidden = !open;
    this.#ui.bell.setAttribute('aria-expanded', String(open));
    // The open panel lists what a toast would say: toasts wait out of its way (CSS).
    document.body.classList.toggle('notifications-open', open);
    if (open) this.#refreshTimes();
  }

  async #post(body, undo) {
    try {
      await postJSON(this.#readUrl, body);
    } catch (error) {
      console.warn('Charla: marking notifications read failed', error);
      undo();
      this.#onError(this.#t('mark_failed'));
    }
  }

  /** List an item at the top, keeping the newest MAX_LISTED. */
  #insert(item) {
    const el = this.#ui.template.content.firstElementChild.cloneNode(true);
    el.dataset.key = item.key;
    el.classList.add(`kind-${item.kind}`, `priority-${item.priority}`);
    el.querySelector('.notification-title').textContent = item.title;
    el.querySelector('.notification-message').textContent = item.message;
    const time = el.querySelector('.notification-time');
    time.dateTime = item.created.toISOString();
    time.title = formatDateTime(item.created);
    this.#ui.list.prepend(el);
    this.#items = new Map([[item.key, { item, el }], ...this.#items]);
    for (const [key, { el: old }] of [...this.#items].slice(MAX_LISTED)) {
      old.remove();
      this.#items.delete(key);
    }
  }

  #refreshTimes() {
    for (const { item, el } of this.#items.values()) {
      el.querySelector('.notification-time').textContent = formatRelative(item.created);
    }
  }

  #render() {
    const { counter, bell, list, empty, markAll } = this.#ui;
    for (const { item, el } of this.#items.values()) el.classList.toggle('unread', !item.read);
    counter.textContent = this.#unread > 99 ? '99+' : String(this.#unread);
    counter.hidden = this.#unread === 0;
    bell.setAttribute('aria-label', this.#unread ? this.#t('bell_unread', { count: this.#unread }) : this.#t('bell'));
    bell.classList.toggle('has-unread', this.#unread > 0);
    empty.hidden = this.#items.size > 0;
    list.hidden = this.#items.size === 0;
    markAll.disabled = this.#unread === 0 && ![...this.#items.values()].some(({ item }) => !item.read);
    if (!this.#ui.panel.hidden) this.#refreshTimes();
  }
}
