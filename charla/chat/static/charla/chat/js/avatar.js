/** Avatars: a user's initial on a colour derived from their name, the same on every page. */

const PALETTE = ['#4f46e5', '#0891b2', '#059669', '#d97706', '#dc2626', '#db2777', '#7c3aed', '#2563eb', '#0d9488', '#ca8a04'];

export function avatarColor(name) {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

/** Fill an avatar element for `name` (text only). */
export function paintAvatar(element, name) {
  element.textContent = Array.from(name.trim())[0]?.toUpperCase() ?? '?';
  element.style.backgroundColor = avatarColor(name);
}
