/** Interface strings the server translated (a page's hidden list, such as room.html's #charla-i18n) and locale-aware formatting. */

/** A translate function over the strings in `#<id>`: t('joined', {user: 'ana'}). */
export function loadStrings(id = 'charla-i18n') {
  const strings = new Map();
  for (const item of document.querySelectorAll(`#${id} [data-key]`)) {
    strings.set(item.dataset.key, item.textContent.trim());
  }
  return (key, params = {}) =>
    (strings.get(key) ?? key).replace(/%\((\w+)\)s/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** The page's language, as the server chose it. */
export function pageLanguage() {
  return document.documentElement.lang || navigator.language || 'en';
}

/** Hours and minutes of an ISO timestamp, in the page's language. */
export function formatTime(date, lang = pageLanguage()) {
  return safeFormat(date, lang, (d, l) => d.toLocaleTimeString(l, { hour: 'numeric', minute: '2-digit' }));
}

/** Full date and time, for tooltips. */
export function formatDateTime(date, lang = pageLanguage()) {
  return safeFormat(date, lang, (d, l) => d.toLocaleString(l, { dateStyle: 'full', timeStyle: 'short' }));
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "now", "5 minutes ago", "yesterday", in the page's language; the date beyond a week. */
export function formatRelative(date, lang = pageLanguage(), now = Date.now()) {
  const seconds = Math.max(0, (now - date.getTime()) / 1000);
  if (seconds >= 7 * DAY) return safeFormat(date, lang, (d, l) => d.toLocaleDateString(l, { dateStyle: 'medium' }));
  const [value, unit] =
    seconds < 45 ? [0, 'second']
    : seconds < HOUR ? [Math.max(1, Math.floor(seconds / MINUTE)), 'minute']
    : seconds < DAY ? [Math.floor(seconds / HOUR), 'hour']
    : [Math.floor(seconds / DAY), 'day'];
  return safeFormat(date, lang, (d, l) => new Intl.RelativeTimeFormat(l, { numeric: 'auto' }).format(-value, unit));
}

function safeFormat(date, lang, format) {
  try {
    return format(date, lang);
  } catch {
    return format(date, undefined); // an unknown language tag
  }
}
