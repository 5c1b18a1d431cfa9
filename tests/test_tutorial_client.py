"""The seed tutorial's own websocket.js, unchanged, works against Charla."""

import pytest

from charla.chat import services
from tests.conftest import need
from tests.support.browser import SEED, login, tutorial_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tutorial_websocket_js_chats_with_charla(browser, charla_servers, redis_url, ana, luis):
    if not SEED.exists():
        need("the seed tutorial", f"{SEED} not found (shared/ must sit beside the repository)")
    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1, redis_url=redis_url)

    # Ana uses the tutorial's page and script, served from Charla's origin.
    tutorial = browser.new_context().new_page()
    alerts = []
    tutorial.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    login(tutorial, server.http, "ana", "pw-ana")
    url = f"{server.http}/tutorial/sala/general/"
    tutorial.route(url, lambda route: route.fulfill(content_type="text/html", body=tutorial_page("general", "ana")))
    tutorial.goto(url)
    tutorial.wait_for_selector("#estado-conexion.estado-success")

    # Luis uses Charla's own page.
    charla = browser.new_context().new_page()
    login(charla, server.http, "luis", "pw-luis")
    charla.goto(f"{server.http}/rooms/general/")
    charla.wait_for_selector("#estado-conexion.estado-success")

    tutorial.fill("#input-mensaje", "hola desde el tutorial")
    tutorial.press("#input-mensaje", "Enter")
    charla.get_by_text("hola desde el tutorial").wait_for()
    tutorial.locator(".mensaje.propio", has_text="hola desde el tutorial").wait_for()

    charla.fill("#input-mensaje", "y yo desde Charla")
    tutorial.locator("#usuarios-escribiendo #escribiendo-luis").wait_for()
    charla.press("#input-mensaje", "Enter")
    tutorial.locator(".mensaje.ajeno", has_text="y yo desde Charla").wait_for()
    tutorial.locator(".notificacion-sistema", has_text="luis se unió a la sala").wait_for()

    # A reload gets the history, oldest first, through the tutorial's cargarHistorial.
    tutorial.reload()
    tutorial.wait_for_selector("#estado-conexion.estado-success")
    tutorial.locator(".mensaje").nth(1).wait_for()
    texts = tutorial.locator(".mensaje .mensaje-contenido").all_inner_texts()
    assert texts == ["hola desde el tutorial", "y yo desde Charla"]
    assert alerts == [], f"the tutorial's client showed errors: {alerts}"
