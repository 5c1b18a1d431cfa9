/** Toasts: short-lived cards in a corner for notifications that arrive while a page is open. */

const LIFETIME_MS = 8000;
const MAX_VISIBLE = 4;

export class Toaster {
  #container;
  #template;

  /** @param {HTMLElement} container `#toasts`; @param {HTMLTemplateElement} template one `.toast` */
  constructor(container, template) {
    this.#container = container;
    this.#template = template;
    container.addEventListener('click', (event) => {
      const close = event.target.closest('.toast-close');
      if (close) this.dismiss(close.closest('.toast'));
    });
  }

  /**
   * Show a toast; `sticky` ones stay until closed. `onOpen` runs when the card itself is
   * clicked (the close button only closes). Returns the toast element.
   */
  show({ title, message, className, sticky = false, onOpen = null }) {
    const toast = this.#template.content.firstElementChild.cloneNode(true);
    toast.classList.add(className);
    toast.querySelector('.toast-title').textContent = title;
    toast.querySelector('.toast-message').textContent = message;
    if (sticky) toast.setAttribute('role', 'alert');
    if (onOpen) {
      const body = toast.querySelector('.toast-body');
      body.classList.add('toast-clickable');
      body.tabIndex = 0;
      const open = () => {
        this.dismiss(toast);
        onOpen();
      };
      body.addEventListener('click', open);
      body.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') open();
      });
    }
    this.#container.append(toast);
    // Too many: the oldest goes first, sticky ones last.
    while (this.#container.children.length > MAX_VISIBLE) {
      this.dismiss(this.#container.querySelector('.toast:not([role="alert"])') ?? this.#container.firstElementChild);
    }
    if (!sticky) this.#expire(toast);
    return toast;
  }

  dismiss(toast) {
    toast?.remove();
  }

  /** Expire after a while, but not while the pointer rests on it (someone is reading). */
  #expire(toast) {
    let timer = setTimeout(() => this.dismiss(toast), LIFETIME_MS);
    toast.addEventListener('mouseenter', () => clearTimeout(timer));
    toast.addEventListener('mouseleave', () => {
      timer = setTimeout(() => this.dismiss(toast), LIFETIME_MS / 2);
    });
  }
}
