/**
 * The message list: one element per message id, kept in room order (seq), updated in
 * place, never duplicated. User text only ever goes in through textContent.
 */

import { paintAvatar } from './avatar.js';
import { formatDateTime, formatTime } from './i18n.js';
import { renderWithMentions } from './mentions.js';

const GROUP_WINDOW_MS = 5 * 60 * 1000;
const NEAR_BOTTOM_PX = 120;

export class MessageList {
  #container;
  #template;
  #editorTemplate;
  #userId;
  #username;
  #isOwner;
  #t;
  #byId = new Map();
  #pending = new Map();

  constructor(container, { template, editorTemplate, userId, username, isOwner, t }) {
    this.#container = container;
    this.#template = template;
    this.#editorTemplate = editorTemplate;
    this.#userId = userId;
    this.#username = username;
    this.#isOwner = isOwner;
    this.#t = t;
  }

  /** The oldest message on screen, or null. */
  get oldest() {
    const el = this.#container.querySelector('.message[data-seq]');
    return el ? { id: Number(el.dataset.id), seq: Number(el.dataset.seq) } : null;
  }

  get(id) {
    return this.#byId.get(id) ?? null;
  }

  isNearBottom() {
    const c = this.#container;
    return c.scrollHeight - c.scrollTop - c.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.#container.scrollTop = this.#container.scrollHeight;
  }

  /** Show exactly these messages (oldest first), dropping every message and notice on screen. */
  reset(messages) {
    for (const el of this.#container.querySelectorAll('.message:not(.pending), .system-line')) el.remove();
    this.#byId.clear();
    const fragment = document.createDocumentFragment();
    for (const msg of [...messages].sort((a, b) => a.seq - b.seq)) {
      if (msg.eliminado || this.#byId.has(msg.id)) continue;
      fragment.append(this.#render(msg));
    }
    this.#container.insertBefore(fragment, this.#firstPending());
    this.#regroupAll();
  }

  /**
   * Bring one message up to date: update it in place, insert it in seq order, or remove
   * it when it is a tombstone. A message older than everything on screen is left for
   * scroll-back when `hasOlder` says older ones exist (inserting it would leave a gap).
   * Returns the element now on screen, or null.
   */
  apply(msg, { hasOlder = false } = {}) {
    if (msg.eliminado) {
      this.remove(msg.id);
      return null;
    }
    const existing = this.#byId.get(msg.id);
    if (existing) {
      this.#fill(existing, msg);
      return existing;
    }
    const oldest = this.oldest;
    if (hasOlder && oldest && msg.seq < oldest.seq) return null;
    const el = this.#render(msg);
    this.#insertInOrder(el, msg.seq);
    this.#regroupAround(el);
    return el;
  }

  /** Add a page of older messages (oldest first) above the ones on screen, keeping the view still. */
  prepend(messages) {
    const c = this.#container;
    const fromBottom = c.scrollHeight - c.scrollTop;
    for (const msg of messages) this.apply(msg);
    c.scrollTop = c.scrollHeight - fromBottom;
  }

  remove(id) {
    const el = this.#byId.get(id);
    if (!el) return;
    const next = el.nextElementSibling;
    this.#byId.delete(id);
    el.remove();
    if (next) this.#regroup(next);
  }

  /** Show a message that is on its way to the server. */
  addPending(clientId, text, username) {
    const el = this.#clone();
    el.classList.add('pending', 'own');
    el.dataset.clientId = clientId;
    el.dataset.authorId = String(this.#userId);
    el.dataset.time = String(Date.now());
    paintAvatar(el.querySelector('.message-avatar'), username);
    el.querySelector('.message-author').textContent = username;
    renderWithMentions(el.querySelector('.message-content'), text, this.#username);
    const status = el.querySelector('.message-status');
    status.textContent = this.#t('sending');
    status.hidden = false;
    el.querySelector('[data-action="edit"]').remove();
    el.querySelector('[data-action="delete"]').remove();
    this.#pending.set(clientId, el);
    this.#container.append(el);
    this.#regroup(el);
    return el;
  }

  dropPending(clientId) {
    const el = this.#pending.get(clientId);
    if (!el) return;
    this.#pending.delete(clientId);
    el.remove();
  }

  /** A notice such as "ana joined the room", at the bottom. */
  addSystemLine(text) {
    const line = document.createElement('p');
    line.className = 'system-line notificacion-sistema';
    line.textContent = text;
    this.#container.insertBefore(line, this.#firstPending());
  }

  /** Replace a message's text with an editor; returns its textarea, or null. */
  openEditor(id) {
    const el = this.#byId.get(id);
    if (!el) return null;
    const current = el.querySelector('.message-editor textarea');
    if (current) return current;
    const editor = this.#editorTemplate.content.firstElementChild.cloneNode(true);
    const input = editor.querySelector('.message-edit-input');
    input.value = el.querySelector('.message-content').textContent;
    el.querySelector('.message-content').hidden = true;
    el.querySelector('.message-body').append(editor);
    el.classList.add('editing');
    return input;
  }

  closeEditor(id) {
    const el = this.#byId.get(id);
    if (!el) return;
    el.querySelector('.message-editor')?.remove();
    el.querySelector('.message-content').hidden = false;
    el.classList.remove('editing');
  }

  #render(msg) {
    const el = this.#clone();
    const own = msg.autor_id === this.#userId;
    el.dataset.id = String(msg.id);
    el.dataset.seq = String(msg.seq);
    el.dataset.authorId = String(msg.autor_id);
    el.classList.toggle('own', own);
    const sent = new Date(msg.enviado_en);
    el.dataset.time = String(sent.getTime());
    paintAvatar(el.querySelector('.message-avatar'), msg.autor);
    el.querySelector('.message-author').textContent = msg.autor;
    const time = el.querySelector('.message-time');
    time.dateTime = msg.enviado_en;
    time.textContent = formatTime(sent);
    time.title = formatDateTime(sent);
    if (!own) el.querySelector('[data-action="edit"]').remove();
    if (!own && !this.#isOwner) el.querySelector('[data-action="delete"]').remove();
    el.querySelector('[data-action="discard"]').remove();
    dropEmptyActions(el);
    this.#fill(el, msg);
    this.#byId.set(msg.id, el);
    return el;
  }

  /** The parts of a message that can change. */
  #fill(el, msg) {
    renderWithMentions(el.querySelector('.message-content'), msg.contenido, this.#username);
    const edited = el.querySelector('.message-edited');
    edited.hidden = !msg.editado;
    edited.title = msg.editado_en ? this.#t('edited_at', { time: formatDateTime(new Date(msg.editado_en)) }) : '';
  }

  #clone() {
    return this.#template.content.firstElementChild.cloneNode(true);
  }

  #firstPending() {
    return this.#container.querySelector('.message.pending');
  }

  #insertInOrder(el, seq) {
    const placed = this.#container.querySelectorAll('.message[data-seq]');
    // New messages belong at the bottom almost always: search from the end.
    for (let i = placed.length - 1; i >= 0; i -= 1) {
      if (Number(placed[i].dataset.seq) < seq) {
        if (i === placed.length - 1) this.#container.insertBefore(el, this.#firstPending());
        else placed[i + 1].before(el);
        return;
      }
    }
    if (placed.length) placed[0].before(el);
    else this.#container.insertBefore(el, this.#firstPending());
  }

  #regroupAround(el) {
    this.#regroup(el);
    if (el.nextElementSibling) this.#regroup(el.nextElementSibling);
  }

  #regroupAll() {
    for (const el of this.#container.querySelectorAll('.message')) this.#regroup(el);
  }

  /** Consecutive messages by one author within a few minutes share one header, as in Slack. */
  #regroup(el) {
    if (!el.classList.contains('message')) return;
    const prev = el.previousElementSibling;
    const continued =
      prev?.classList.contains('message') &&
      prev.dataset.authorId === el.dataset.authorId &&
      Math.abs(Number(el.dataset.time) - Number(prev.dataset.time)) < GROUP_WINDOW_MS;
    el.classList.toggle('continued', Boolean(continued));
  }
}

/** A message one can do nothing to gets no (empty) toolbar. */
function dropEmptyActions(el) {
  const actions = el.querySelector('.message-actions');
  if (actions && !actions.querySelector('button')) actions.remove();
}
