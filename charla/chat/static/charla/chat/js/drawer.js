/** The room page's sidebar, a drawer on small screens: the ☰ button opens it, a tap beside it closes it. */

/**
 * @param {HTMLElement} root the element that gets `sidebar-open`
 * @param {HTMLButtonElement} toggle the ☰ button
 * @param {HTMLElement} beside the area a tap in which closes the open drawer (that tap does nothing else)
 */
export function setupDrawer(root, toggle, beside) {
  function setOpen(open) {
    root.classList.toggle('sidebar-open', open);
    toggle.setAttribute('aria-expanded', String(open));
  }
  toggle.addEventListener('click', () => setOpen(!root.classList.contains('sidebar-open')));
  beside.addEventListener('click', (event) => {
    if (!root.classList.contains('sidebar-open') || event.target === toggle) return;
    event.preventDefault();
    event.stopPropagation();
    setOpen(false);
  }, { capture: true });
}
