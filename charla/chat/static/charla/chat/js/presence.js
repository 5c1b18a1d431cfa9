/** The sidebar's list of who is online in the room. */

import { paintAvatar } from './avatar.js';

/** Show `usernames` (from a `usuarios_conectados` frame) as one <li> each. */
export function renderOnline(list, total, usernames, { me, t }) {
  const items = usernames.map((name) => {
    const item = document.createElement('li');
    item.dataset.username = name;
    const avatar = document.createElement('span');
    avatar.className = 'avatar avatar-xs';
    avatar.setAttribute('aria-hidden', 'true');
    paintAvatar(avatar, name);
    const label = document.createElement('span');
    label.className = 'online-name';
    label.textContent = name;
    item.append(avatar, label);
    if (name === me) {
      item.classList.add('self');
      const you = document.createElement('span');
      you.className = 'online-you';
      you.textContent = `(${t('you')})`;
      item.append(you);
    }
    return item;
  });
  list.replaceChildren(...items);
  total.textContent = String(usernames.length);
}

/** Who is online: the whole list comes on connect; after that, joins and leaves keep it current. */
export class OnlineList {
  #list;
  #total;
  #options;
  #names = new Set();

  /** @param {{me: string, t: Function}} options */
  constructor(list, total, options) {
    this.#list = list;
    this.#total = total;
    this.#options = options;
  }

  reset(usernames) {
    this.#names = new Set(usernames);
    this.#render();
  }

  add(username) {
    this.#names.add(username);
    this.#render();
  }

  remove(username) {
    this.#names.delete(username);
    this.#render();
  }

  #render() {
    renderOnline(this.#list, this.#total, [...this.#names].sort(), this.#options);
  }
}
