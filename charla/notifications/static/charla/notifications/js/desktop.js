/** Desktop notifications: allowed with a click (browsers ask only on a user gesture), shown while the tab is hidden. */

function permission() {
  return 'Notification' in window ? Notification.permission : 'unsupported';
}

/**
 * Show the one element of `root` whose `data-desktop` names the current permission
 * (default, granted, denied, unsupported); `button` asks for permission.
 */
export function setupDesktopControl(root, button) {
  const refresh = () => {
    for (const el of root.querySelectorAll('[data-desktop]')) el.hidden = el.dataset.desktop !== permission();
  };
  button.addEventListener('click', async () => {
    await Notification.requestPermission();
    refresh();
  });
  refresh();
}

/** A desktop notification, when allowed and the page is not being looked at; `tag` merges copies from several tabs. */
export function showDesktop({ title, body, tag, onClick }) {
  if (!document.hidden || permission() !== 'granted') return;
  try {
    const notification = new Notification(title, { body, tag });
    notification.addEventListener('click', () => {
      window.focus();
      notification.close();
      onClick();
    });
  } catch (error) {
    // Android's Chrome only shows them through a service worker.
    console.debug('Charla: no desktop notification', error);
  }
}
