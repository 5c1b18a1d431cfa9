/** Interface strings the server translated (room.html's #charla-i18n) and locale-aware formatting. */

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
  return safeFormat(date, lang, (d, l) => d.toLocaleTimeString(l, { hour: '2-digit', minute: '2-digit' }));
}

/** Full date and time, for tooltips. */
export function formatDateTime(date, lang = pageLanguage()) {
  return safeFormat(date, lang, (d, l) => d.toLocaleString(l, { dateStyle: 'full', timeStyle: 'short' }));
}

function safeFormat(date, lang, format) {
  try {
    return format(date, lang);
  } catch {
    return format(date, undefined); // an unknown language tag
  }
}
