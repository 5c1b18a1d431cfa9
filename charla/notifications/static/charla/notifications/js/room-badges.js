/**
 * Unread and mention badges of the rooms a page lists (`li[data-room][data-unread]`: the
 * room list's cards, the room page's sidebar). The server renders them; frames update them.
 */

function roomItems(room) {
  return document.querySelectorAll(`li[data-room="${CSS.escape(room)}"][data-unread]`);
}

/** Set a room's badges to the server's counts (after the notifications socket (re)connects). */
export function setRoom(room, { unread, mentions }) {
  for (const item of roomItems(room)) setRoomBadges(item, unread, mentions);
}

/**
 * Show `unread` and `mentions` on one listed room (0 hides a badge), as the person wants
 * to hear of it (data-notify): unread counts for "all" only, mentions unless "nothing".
 */
function setRoomBadges(item, unread, mentions) {
  const notify = item.dataset.notify ?? 'all';
  item.dataset.unread = String(unread);
  item.dataset.mentions = String(mentions);
  item.classList.toggle('has-unread', unread > 0 && notify === 'all');
  const unreadBadge = item.querySelector('.badge-unread');
  unreadBadge.textContent = unread > 99 ? '99+' : String(unread);
  unreadBadge.hidden = unread === 0 || notify !== 'all';
  const mentionBadge = item.querySelector('.badge-mention');
  mentionBadge.textContent = `@${mentions > 99 ? '99+' : mentions}`;
  mentionBadge.hidden = mentions === 0 || notify === 'nothing';
}

/** Count a new message (and perhaps a mention) in `room`. */
export function addToRoom(room, { unread, mentions }) {
  for (const item of roomItems(room)) {
    setRoomBadges(item, Number(item.dataset.unread) + unread, Number(item.dataset.mentions) + mentions);
  }
}

/** The room was read (on this page or another). */
export function clearRoom(room) {
  for (const item of roomItems(room)) setRoomBadges(item, 0, 0);
}
