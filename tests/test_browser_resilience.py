"""The page keeps what a person typed when the server fails to store it, and sends it again."""

import json
import re

import pytest
from playwright.sync_api import expect

from charla.chat import services
from charla.chat.models import Message
from tests.support.browser import login
from tests.test_browser import contents, say
from tests.test_browser_first_day import open_room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STORE_FAILED = {"type": "error", "code": "store_failed", "error": "The message could not be stored; send it again."}


def test_a_send_the_server_failed_to_store_is_sent_again_and_shown_once(browser, charla_servers, ana):
    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1)
    failed: list[str] = []

    def first_send_fails(ws):
        """Between page and server: the first `mensaje` is answered as by a server whose database broke."""
        upstream = ws.connect_to_server()

        def from_page(message):
            frame = json.loads(message)
            if frame.get("type") == "mensaje" and not failed:
                failed.append(frame["client_id"])
                ws.send(json.dumps({**STORE_FAILED, "client_id": frame["client_id"]}))
            else:
                upstream.send(message)

        ws.on_message(from_page)
        upstream.on_message(ws.send)

    page = browser.new_context(locale="en-US").new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route_web_socket(re.compile(r".*/ws/chat/.*"), first_send_fails)
    login(page, server.http, "ana", "pw-ana")
    page.goto(f"{server.http}/rooms/general/")
    page.wait_for_selector("#estado-conexion.estado-success")

    say(page, "this one survives a database blip")
    page.locator("#mensajes article.message:not(.pending)", has_text="survives a database blip").wait_for()
    assert failed, "the first send really failed"
    assert contents(page).count("this one survives a database blip") == 1
    assert page.locator("#error-banner").is_hidden(), "nothing for the person to do"
    assert page.input_value("#input-mensaje") == ""
    assert Message.objects.filter(content="this one survives a database blip", client_id=failed[0]).count() == 1
    assert errors == []


def test_a_session_ended_by_a_restart_asks_to_log_in_and_sends_what_was_queued_after(browser, charla_servers, ana):
    """make run used to give the demo users new passwords at each start: open pages retried
    forever and a message queued meanwhile was never stored. Now the page says to log in
    again, keeps the queued message and the unsent draft (across the reload that the login
    takes), and sends the message once after logging back in."""
    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "ana")

    server.stop()
    page.wait_for_selector("#estado-conexion:not(.estado-success)")
    say(page, "queued while the server was down")
    page.fill("#input-mensaje", "a draft not sent yet")
    ana.set_password("pw-ana-after-restart")  # what a restart of make run did: every session of ana ends
    ana.save()
    server.restart()

    notice = page.locator(".fatal-notice")
    notice.wait_for(timeout=30_000)
    assert "log in again" in notice.inner_text() and "kept" in notice.inner_text()
    assert page.locator("#mensajes article.message.pending", has_text="queued while the server").count() == 1
    assert not Message.objects.filter(content="queued while the server was down").exists()

    notice.locator("a.fatal-link").click()
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=/rooms/general/"))
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", "pw-ana-after-restart")
    page.locator("form [type=submit]").first.click()
    page.wait_for_url(f"{server.http}/rooms/general/")
    page.locator("#mensajes article.message:not(.pending)", has_text="queued while the server").wait_for()
    assert page.input_value("#input-mensaje") == "a draft not sent yet"
    assert Message.objects.filter(content="queued while the server was down").count() == 1
    page.reload()
    page.wait_for_selector("#estado-conexion.estado-success")
    assert contents(page).count("queued while the server was down") == 1, "sent once, not again after a reload"
    assert page.input_value("#input-mensaje") == "a draft not sent yet", "a draft stays a draft, once"
    assert errors == []


SAVED_SENDS = """async () => {
  const { SavedSends, forgetAll } = await import('/static/charla/chat/js/saved-sends.js');
  const frame = (id, text) => ({ type: 'mensaje', mensaje: text, client_id: id });
  const tabA = new SavedSends(7, 3);
  const tabB = new SavedSends(7, 3);  // a second tab of the same room
  tabA.add('m1', frame('m1', 'from tab A'));
  tabB.add('m2', frame('m2', 'from tab B'));
  tabB.remove('m2');  // stored: tab B forgets its own, and only its own
  const afterTabs = tabA.loadSends().map((e) => e.clientId);
  localStorage.setItem('charla:outbox:7:4', JSON.stringify([
    { clientId: 'old', frame: frame('old', 'yesterday'), savedAt: Date.now() - 25 * 3600 * 1000 }]));
  const expired = new SavedSends(7, 4).loadSends().length;
  new SavedSends(7, 3).saveDraft('half a thought');
  forgetAll();  // logging out
  return { afterTabs, expired, left: Object.keys(localStorage).filter((k) => k.startsWith('charla:')) };
}"""


def test_saved_sends_of_two_tabs_do_not_overwrite_each_other_expire_and_go_at_logout(browser, charla_servers, ana):
    (server,) = charla_servers(1)
    page = browser.new_context(locale="en-US").new_page()
    login(page, server.http, "ana", "pw-ana")
    result = page.evaluate(SAVED_SENDS)
    assert result == {"afterTabs": ["m1"], "expired": 0, "left": []}


def test_a_queue_longer_than_the_rate_limit_is_sent_in_full_not_dropped(browser, charla_servers, ana):
    """After a reconnect the whole queue goes at once; what the rate limit refuses waits its turn."""
    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1, CHARLA_SEND_RATE="3/10s")
    page, errors = open_room(browser, server, "ana")
    server.stop()
    page.wait_for_selector("#estado-conexion:not(.estado-success)")
    texts = [f"queued {n}" for n in range(1, 7)]
    for text in texts:
        say(page, text)
    server.restart()
    page.locator("#mensajes article.message:not(.pending)", has_text="queued 6").wait_for(timeout=45_000)
    expect(page.locator("#mensajes article.message.pending")).to_have_count(0, timeout=45_000)
    stored = list(Message.objects.filter(content__startswith="queued").values_list("content", flat=True))
    assert sorted(stored) == texts, "each one stored, once"
    assert errors == []
