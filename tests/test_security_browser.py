"""The Content-Security-Policy and notification links in Chromium, against real server processes."""

import re

import pytest
from django.db import connection

from charla.chat import services
from charla.notifications.links import is_safe_link
from charla.notifications.models import Notification
from tests.support.browser import login
from tests.test_browser import contents, in_plain_thread, say
from tests.test_security_http import HOSTILE_LINKS, SAFE_LINKS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORT_VIOLATIONS = """document.addEventListener('securitypolicyviolation', (e) =>
  window.reportViolation(`${e.effectiveDirective} blocked ${e.blockedURI} in ${e.sourceFile}:${e.lineNumber}`));"""


class WatchedPage:
    """A logged-in Chromium page that records CSP violations, console errors and page errors."""

    def __init__(self, browser, server, username: str | None):
        self.server = server
        self.context = browser.new_context(locale="en-US", viewport={"width": 1180, "height": 720})
        self.problems: list[str] = []
        self.context.expose_binding("reportViolation", lambda _source, text: self.problems.append(f"CSP: {text}"))
        self.context.add_init_script(script=REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        if username:
            login(self.page, server.http, username, f"pw-{username}")

    def _console(self, msg) -> None:
        # The admin's pages have no icon of their own: the browser asks for /favicon.ico.
        if msg.type == "error" and not msg.location["url"].endswith("/favicon.ico"):
            self.problems.append(f"console: {msg.text} at {msg.location['url']}")

    def open(self, path: str, ready: str = "main") -> None:
        """Open `path`: it must answer 200 with the policy, and show `ready`."""
        response = self.page.goto(f"{self.server.http}{path}")
        assert response.status == 200, path
        policy = response.header_value("content-security-policy") or ""
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        self.page.wait_for_selector(ready)


def prepare(ana, boss):
    try:
        room = services.room_create(creator=ana, name="general", description="Everyone")
        message, _ = services.message_send(room=room, author=ana, content="first")
        services.room_create(creator=ana, name="ops", is_private=True)
        return room.pk, message.pk
    finally:
        connection.close()


def test_every_page_runs_under_the_policy_without_a_violation_and_the_chat_works(
    browser, charla_servers, redis_url, ana, make_user
):
    boss = make_user("boss", is_staff=True, is_superuser=True)
    room_id, message_id = in_plain_thread(prepare, ana, boss)
    (server,) = charla_servers(1, redis_url=redis_url)

    visitor = WatchedPage(browser, server, None)
    visitor.open("/accounts/login/", "input[name=username]")
    visitor.open("/signup/", "input[name=password1]")
    visitor.open("/admin/login/", "input[name=username]")

    user = WatchedPage(browser, server, "ana")
    user.open("/", "#notificaciones[data-state=connected]")
    user.open("/rooms/new/", "input[name=name]")
    user.open("/notifications/", "#notificaciones[data-state=connected]")
    user.open("/rooms/general/members/")
    user.open("/rooms/general/", "#estado-conexion.estado-success")
    say(user.page, "hello under the policy")
    user.page.locator("article.message:not(.pending)", has_text="hello under the policy").wait_for()
    assert contents(user.page) == ["first", "hello under the policy"]
    user.page.click("#campana-notificaciones")
    user.page.wait_for_selector("#panel-notificaciones:not([hidden])")

    staff = WatchedPage(browser, server, "boss")
    staff.open("/notifications/announce/", "#form-anuncio")
    staff.open("/admin/")
    staff.open("/admin/charla/room/", "#result_list")
    staff.open(f"/admin/charla/room/{room_id}/change/", "#room_form")
    staff.open("/admin/charla/message/", "#result_list")
    staff.page.check(f"input[name=_selected_action][value='{message_id}']")
    staff.open(f"/admin/charla/message/{message_id}/change/")
    staff.open("/admin/auth/user/", "#result_list")

    for watched in (visitor, user, staff):
        assert watched.problems == []

    # The policy is enforced: a script injected into the page is blocked, and reported.
    user.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.append(s); }"
    )
    assert user.page.evaluate("window.injected") is None
    user.page.wait_for_timeout(200)
    assert any(p.startswith("CSP: script-src-elem blocked inline") for p in user.problems), user.problems


HOSTILE = [("bad 1", "/\\evil.example/"), ("bad 2", "/\t/evil.example/"), ("bad 3", "javascript:window.pwned=1")]


def store_notifications(ana):
    """Hostile links stored before they were checked, and one good link (written directly, as an old row would be)."""
    try:
        for title, url in [*HOSTILE, ("good", "/rooms/general/")]:
            Notification.objects.create(recipient=ana, kind="personal", title=title, url=url)
        return services.room_create(creator=ana, name="general").pk
    finally:
        connection.close()


def click_notification(page, title: str) -> None:
    """Click the notification titled `title` in the bell's panel."""
    if page.locator("#panel-notificaciones").is_hidden():
        page.click("#campana-notificaciones")
    page.locator("#lista-notificaciones .notification-item", has_text=title).click()


def test_a_notification_with_a_hostile_link_does_not_leave_the_site(browser, charla_servers, redis_url, ana):
    in_plain_thread(store_notifications, ana)
    (server,) = charla_servers(1, redis_url=redis_url)
    watched = WatchedPage(browser, server, "ana")
    offsite = []

    def refuse(route):
        offsite.append(route.request.url)
        route.abort()

    watched.context.route(re.compile(r"^(?!http://127\.0\.0\.1:\d+/).*"), refuse)
    watched.open("/notifications/", "#notificaciones[data-state=connected]")
    assert watched.page.locator("#pagina-notificaciones a[href*=evil]").count() == 0

    for title, _url in HOSTILE:
        click_notification(watched.page, title)
        watched.page.wait_for_timeout(500)
        assert watched.page.url == f"{server.http}/notifications/", title
    assert offsite == [] and watched.page.evaluate("window.pwned") is None

    # A good link is followed.
    click_notification(watched.page, "good")
    watched.page.wait_for_url(f"{server.http}/rooms/general/")
    assert watched.problems == []

    # Every link the server accepts resolves, in Chromium's own URL parser, to this site or a web address.
    resolved = watched.page.evaluate(
        """(links) => links.map((link) => {
             const url = new URL(link, location.href);
             return [url.origin === location.origin, url.protocol, url.hostname];
           })""",
        [link for link in HOSTILE_LINKS + SAFE_LINKS if is_safe_link(link)],
    )
    for link, (same_origin, protocol, hostname) in zip(
        [link for link in HOSTILE_LINKS + SAFE_LINKS if is_safe_link(link)], resolved, strict=True
    ):
        assert same_origin if link.startswith("/") else protocol in ("http:", "https:") and hostname, link
