"""The history size is the server's (settings.CHARLA_HISTORY_SIZE): the room page scrolls back by it."""

import pytest
from playwright.sync_api import expect

from charla.chat import services
from tests.test_browser import contents, in_plain_thread, open_room, send_as


@pytest.mark.django_db
def test_room_page_carries_the_servers_history_size(login, ana, settings):
    settings.CHARLA_HISTORY_SIZE = 7
    services.room_create(creator=ana, name="lobby")
    page = login(ana).get("/rooms/lobby/").content.decode()
    assert 'data-history-size="7"' in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_scroll_back_pages_by_the_servers_history_size(browser, charla_servers, redis_url, ana):
    services.room_create(creator=ana, name="archive")
    in_plain_thread(send_as, ana, "archive", [f"m{n}" for n in range(1, 13)])
    (server,) = charla_servers(1, redis_url=redis_url, CHARLA_HISTORY_SIZE="5")
    page, errors = open_room(browser, server, "ana", "archive")
    older = page.locator("#cargar-anteriores")
    beginning = page.locator(".history-beginning")

    # A full first history of 5 means there may be more: the page offers them.
    expect(page.locator("#mensajes article.message")).to_have_count(5)
    assert contents(page) == [f"m{n}" for n in range(8, 13)]
    expect(older).to_be_visible()
    expect(beginning).to_be_hidden()

    older.click()
    expect(page.locator("#mensajes article.message")).to_have_count(10)
    expect(older).to_be_visible()
    older.click()
    expect(page.locator("#mensajes article.message")).to_have_count(12)
    assert contents(page) == [f"m{n}" for n in range(1, 13)]
    expect(older).to_be_hidden()
    expect(beginning).to_be_visible()
    assert errors == []
