"""The page keeps what a person typed when the server fails to store it, and sends it again."""

import json
import re

import pytest

from charla.chat import services
from charla.chat.models import Message
from tests.support.browser import login
from tests.test_browser import contents, say

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
