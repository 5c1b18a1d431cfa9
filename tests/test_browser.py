"""Two people chat in Chromium through Charla's own pages."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from charla.chat import services
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"


def open_room(browser, server, username, room, locale="en-US"):
    context = browser.new_context(locale=locale, viewport={"width": 1180, "height": 720})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, server.http, username, f"pw-{username}")
    page.goto(f"{server.http}/rooms/{room}/")
    page.wait_for_selector("#estado-conexion.estado-success")
    return page, errors


def say(page, text):
    page.fill("#input-mensaje", text)
    page.press("#input-mensaje", "Enter")


def contents(page):
    return page.locator("#mensajes article.message:not(.pending) .message-content").all_inner_texts()


def in_plain_thread(function, *args):
    """Run Django code as a view or a command would: in a thread with no event loop
    (Playwright's sync API keeps one running in the test's thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def send_as(user, room_name, texts):
    try:
        room = services.room_open(user=user, name=room_name)
        for text in texts:
            services.message_send(room=room, author=user, content=text)
    finally:
        connection.close()


def test_two_people_chat_type_edit_delete_and_reload(browser, charla_servers, redis_url, ana, luis):
    services.room_create(creator=ana, name="general", description="Everyone's room")
    (server,) = charla_servers(1, redis_url=redis_url)
    ana_page, ana_errors = open_room(browser, server, "ana", "general")
    luis_page, luis_errors = open_room(browser, server, "luis", "general", locale="es-ES")

    ana_page.locator("#usuarios-en-linea li[data-username=luis]").wait_for()
    say(ana_page, "Hola Luis, ¿listo para la demo?")
    luis_page.locator("article.message", has_text="¿listo para la demo?").wait_for()

    luis_page.type("#input-mensaje", "Casi")
    ana_page.locator("#usuarios-escribiendo [data-username=luis]").wait_for()
    luis_page.press("#input-mensaje", "Enter")
    ana_page.locator("article.message", has_text="Casi").wait_for()
    ana_page.locator("#usuarios-escribiendo [data-username=luis]").wait_for(state="detached")

    # Script in a message shows as text and runs nowhere.
    say(luis_page, '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>')
    ana_page.locator("article.message", has_text="<img src=x").wait_for()
    assert ana_page.evaluate("window.pwned") is None and luis_page.evaluate("window.pwned") is None

    # Luis edits his message; Ana sees the new text marked as edited.
    mine = luis_page.locator("article.message", has_text="Casi")
    mine.hover()
    mine.locator("[data-action=edit]").click()
    luis_page.fill(".message-edit-input", "¡Listo!")
    luis_page.locator("[data-action=save]").click()
    edited = ana_page.locator("article.message", has_text="¡Listo!")
    edited.wait_for()
    assert edited.locator(".message-edited").is_visible()
    assert ana_page.locator("article.message", has_text="Casi").count() == 0

    # Luis deletes the script message; it disappears for Ana.
    noise = luis_page.locator("article.message", has_text="<img src=x")
    noise.hover()
    noise.locator("[data-action=delete]").click()
    ana_page.locator("article.message", has_text="<img src=x").wait_for(state="detached")

    say(ana_page, "Perfecto, empezamos en cinco minutos.")
    expected = ["Hola Luis, ¿listo para la demo?", "¡Listo!", "Perfecto, empezamos en cinco minutos."]
    luis_page.locator("article.message", has_text="cinco minutos").wait_for()
    assert contents(ana_page) == expected and contents(luis_page) == expected

    # After a reload the history is the same, in order, with no duplicate.
    luis_page.reload()
    luis_page.wait_for_selector("#estado-conexion.estado-success")
    luis_page.locator("article.message", has_text="cinco minutos").wait_for()
    assert contents(luis_page) == expected
    assert luis_page.locator("html").get_attribute("lang") == "es"

    ana_page.locator("#usuarios-en-linea li[data-username=luis]").wait_for()
    ana_page.screenshot(path=str(SCREENSHOT))
    assert ana_errors == [] and luis_errors == []


def test_reconnect_after_a_server_restart_keeps_the_conversation_whole(browser, charla_servers, redis_url, ana, luis):
    services.room_create(creator=ana, name="ops")
    in_plain_thread(lambda: services.room_open(user=luis, name="ops"))
    (server,) = charla_servers(1, redis_url=redis_url)
    page, errors = open_room(browser, server, "ana", "ops")
    say(page, "before")
    page.locator("article.message:not(.pending)", has_text="before").wait_for()  # stored, not just shown

    # The server goes away; meanwhile Luis's messages land through another process.
    port = server.port
    server.stop()
    page.wait_for_selector("#estado-conexion:not(.estado-success)")
    in_plain_thread(send_as, luis, "ops", ["missed one", "missed two"])
    say(page, "sent while offline")

    # It comes back on the same port: the page resumes with no gap and no duplicate.
    server.restart()
    assert server.port == port
    page.wait_for_selector("#estado-conexion.estado-success", timeout=30_000)
    page.locator("article.message:not(.pending)", has_text="sent while offline").wait_for(timeout=30_000)
    assert contents(page) == ["before", "missed one", "missed two", "sent while offline"]
    assert errors == []
