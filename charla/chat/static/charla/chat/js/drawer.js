/**
 * The room page's sidebar, a drawer on small screens: the ☰ button opens it, a tap beside
 * it or Esc closes it, and the button's label says which it will do.
 */

/**
 * @param {HTMLElement} root the element that gets `sidebar-open`
 * @param {HTMLButtonElement} toggle the ☰ button (data-label-open, data-label-closed)
 * @param {HTMLElement} beside the area a tap in which closes the open drawer (that tap does nothing else)
 */
export function setupDrawer(root, toggle, beside) {
  const isOpen = () => root.classList.contains('sidebar-open');
  function setOpen(open) {
    root.classList.toggle('sidebar-open', open);
    toggle.setAttribute('aria-expanded', String(open));
    toggle.setAttribute('aria-label', open ? toggle.dataset.labelOpen : toggle.dataset.labelClosed);
  }
  toggle.addEventListener('click', () => setOpen(!isOpen()));
  beside.addEventListener('click', (event) => {
    if (!isOpen() || event.target === toggle) return;
    event.preventDefault();
    event.stopPropagation();
    setOpen(false);
  }, { capture: true });
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !isOpen()) return;
    setOpen(false);
    toggle.focus();
  });
}
