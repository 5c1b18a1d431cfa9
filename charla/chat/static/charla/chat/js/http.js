/** Same-origin JSON requests with Django's CSRF token. */

/** The CSRF token: the cookie (fresh after a login in another tab), else the one rendered in the page. */
function csrfToken() {
  const cookie = document.cookie.split('; ').find((pair) => pair.startsWith('csrftoken='));
  if (cookie) return decodeURIComponent(cookie.slice('csrftoken='.length));
  return document.querySelector('input[name="csrfmiddlewaretoken"]')?.value ?? '';
}

/**
 * POST `body` as JSON; resolves to the parsed answer, rejects on a network error or a
 * status other than 2xx. `keepalive` lets the request finish when the page navigates away.
 */
export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    keepalive: true,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}
