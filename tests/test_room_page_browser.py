"""The room page's drawer and its notice after a fatal close, in Chromium."""

import pytest
from playwright.sync_api import expect

from charla.chat import services
from tests.support.browser import login
from tests.test_browser import in_plain_thread, open_room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_on_a_phone_the_sidebar_is_a_drawer_that_a_tap_beside_it_closes(browser, charla_servers, redis_url, ana):
    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1, redis_url=redis_url)
    context = browser.new_context(viewport={"width": 390, "height": 800}, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, server.http, "ana", "pw-ana")
    page.goto(f"{server.http}/rooms/general/")
    page.wait_for_selector("#estado-conexion.estado-success")
    toggle = page.locator("[data-action=toggle-sidebar]")
    sidebar = page.locator("#sidebar")
    expect(sidebar).not_to_be_in_viewport()

    toggle.click()
    expect(page.locator("#chat-app")).to_have_class("chat-layout sidebar-open")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar.locator("li[data-room=general]")).to_be_in_viewport()

    # A tap on the conversation beside it closes it.
    page.mouse.click(360, 400)
    expect(page.locator("#chat-app")).to_have_class("chat-layout")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert page.url.endswith("/rooms/general/")
    assert errors == []


def test_a_removed_member_gets_a_notice_in_place_of_the_composer(browser, charla_servers, redis_url, ana, luis):
    services.room_create(creator=ana, name="secreto", is_private=True)
    in_plain_thread(
        lambda: services.member_add(room=services.room_open(user=ana, name="secreto"), actor=ana, user=luis)
    )
    (server,) = charla_servers(1, redis_url=redis_url)
    page, errors = open_room(browser, server, "luis", "secreto")
    page.locator("#usuarios-en-linea li[data-username=luis]").wait_for()

    # Ana removes him on the members page.
    owner_page, owner_errors = open_room(browser, server, "ana", "secreto")
    owner_page.goto(f"{server.http}/rooms/secreto/members/")
    owner_page.locator("li.member[data-username=luis] [data-action=remove]").click()
    owner_page.locator("li.member[data-username=luis]").wait_for(state="detached")

    notice = page.locator(".fatal-notice")
    expect(notice.locator(".fatal-text")).to_have_text("You no longer have access to this room.")
    expect(notice.locator(".fatal-link")).to_have_text("Back to rooms")
    assert notice.locator(".fatal-link").get_attribute("href") == "/"
    expect(page.locator("#form-mensaje")).to_have_count(0)
    expect(page.locator("#estado-conexion")).to_have_class("estado estado-error")
    expect(page.locator("#usuarios-en-linea li")).to_have_count(0)
    assert errors == [] and owner_errors == []
