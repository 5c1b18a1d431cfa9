"""Notifications in Chromium: announcements, mentions and missed notifications reach the right pages."""

import pytest
from django.db import connection
from playwright.sync_api import expect

from charla.chat import services
from charla.chat.models import Membership
from charla.notifications.api import notify_user
from tests.support.browser import login
from tests.test_browser import in_plain_thread, say

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Keeps in window.mostUnread the highest unread count a room's sidebar entry ever showed.
WATCH_UNREAD = """(room) => {
  const item = document.querySelector(`#lista-salas li[data-room="${room}"]`);
  window.mostUnread = Number(item.dataset.unread);
  new MutationObserver(() => {
    window.mostUnread = Math.max(window.mostUnread, Number(item.dataset.unread));
  }).observe(item, { attributes: true });
}"""


def open_page(browser, server, username, path="/", locale="en-US"):
    """Log `username` in and open `path`; returns once the page's notifications socket is up."""
    context = browser.new_context(locale=locale, viewport={"width": 1180, "height": 720})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, server.http, username, f"pw-{username}")
    page.goto(f"{server.http}{path}")
    page.wait_for_selector("#notificaciones[data-state=connected]")
    if path.startswith("/rooms/"):
        page.wait_for_selector("#estado-conexion.estado-success")
    return page, errors


def panel_items(page):
    page.click("#campana-notificaciones")
    return page.locator("#lista-notificaciones .notification-item")


def notify(user, *args):
    try:
        notify_user(user, *args)
    finally:
        connection.close()


def create_rooms(ana, luis):
    """Ana's public rooms general and random, with Luis in them, and her private room secreto."""
    try:
        for name in ("general", "random"):
            services.room_create(creator=ana, name=name)
            services.room_open(user=luis, name=name)
        services.room_create(creator=ana, name="secreto", is_private=True)
    finally:
        connection.close()


def last_read_seq(user, room_name):
    try:
        return Membership.objects.get(user=user, room__name=room_name).last_read_seq
    finally:
        connection.close()


def test_an_announcement_reaches_open_pages_and_its_readers_are_listed(
    browser, charla_servers, redis_url, make_user, luis
):
    make_user("boss", is_staff=True)
    (server,) = charla_servers(1, redis_url=redis_url)
    luis_page, luis_errors = open_page(browser, server, "luis")
    counter = luis_page.locator("#notificaciones-contador")
    expect(counter).to_be_hidden()
    expect(luis_page.locator("#enlace-anunciar")).to_have_count(0)
    assert luis_page.goto(f"{server.http}/notifications/announce/").status == 403
    luis_page.goto(f"{server.http}/")
    luis_page.wait_for_selector("#notificaciones[data-state=connected]")

    boss_page, boss_errors = open_page(browser, server, "boss", "/notifications/announce/")
    boss_page.fill("#id_titulo", "Maintenance tonight")
    boss_page.fill("#id_mensaje", "Charla restarts at 22:00 UTC.")
    boss_page.select_option("#id_prioridad", "alta")
    boss_page.locator("#form-anuncio [type=submit]").click()
    boss_page.locator(".flash-success").wait_for()

    # Luis's open page shows it at once; a high-priority toast stays until closed.
    toast = luis_page.locator("#toasts .toast.toast-alta")
    expect(toast.locator(".toast-title")).to_have_text("Maintenance tonight")
    expect(toast.locator(".toast-message")).to_have_text("Charla restarts at 22:00 UTC.")
    expect(counter).to_have_text("1")
    toast.locator(".toast-close").click()
    expect(toast).to_have_count(0)

    # It is stored: after a reload it is still unread, and no toast pops up again.
    luis_page.reload()
    luis_page.wait_for_selector("#notificaciones[data-state=connected]")
    expect(counter).to_have_text("1")
    expect(luis_page.locator("#toasts .toast")).to_have_count(0)

    # Opening it from the panel marks it read.
    item = panel_items(luis_page).filter(has_text="Maintenance tonight")
    expect(item).to_contain_class("unread")
    item.click()
    expect(counter).to_be_hidden()
    expect(item).not_to_contain_class("unread")

    # Staff see who read it.
    boss_page.locator("#lista-anuncios a", has_text="Maintenance tonight").first.click()
    expect(boss_page.locator("#lista-leyeron li[data-username=luis]")).to_be_visible()
    expect(boss_page.locator("#lista-no-leyeron li[data-username=boss]")).to_be_visible()
    expect(boss_page.locator("#lista-no-leyeron li[data-username=luis]")).to_have_count(0)
    assert luis_errors == [] and boss_errors == []


def test_a_mention_lights_up_the_right_room_and_no_one_outside_a_private_room(
    browser, charla_servers, redis_url, make_user, ana, luis
):
    in_plain_thread(create_rooms, ana, luis)
    make_user("marta")
    (server,) = charla_servers(1, redis_url=redis_url)
    luis_page, luis_errors = open_page(browser, server, "luis")
    marta_page, marta_errors = open_page(browser, server, "marta")
    ana_page, ana_errors = open_page(browser, server, "ana", "/rooms/general/")

    say(ana_page, "@luis mira esto")
    general = luis_page.locator("li.room-card[data-room=general]")
    expect(general.locator(".badge-mention")).to_have_text("@1")
    expect(general.locator(".badge-unread")).to_have_text("1")
    expect(luis_page.locator("li.room-card[data-room=random] .room-badges")).to_be_hidden()
    toast = luis_page.locator("#toasts .toast.toast-mencion")
    expect(toast.locator(".toast-title")).to_have_text("@ana #general")
    expect(toast.locator(".toast-message")).to_have_text("@luis mira esto")
    expect(luis_page.locator("#notificaciones-contador")).to_have_text("1")

    # In the room, the new messages start at a divider and the mention stands out.
    luis_page.locator("li.room-card[data-room=general] a").click()
    luis_page.wait_for_selector("#estado-conexion.estado-success")
    first_unread = luis_page.locator(".unread-divider + article.message")
    expect(first_unread.locator(".message-content")).to_have_text("@luis mira esto")
    expect(first_unread.locator(".mention.mention-me")).to_have_text("@luis")
    expect(luis_page.locator("#notificaciones-contador")).to_be_hidden()

    # The room on screen never counts up: its page reports what was read (leido) instead.
    luis_page.evaluate(WATCH_UNREAD, "general")
    seq_before = in_plain_thread(last_read_seq, luis, "general")
    say(ana_page, "y esto también")
    luis_page.locator("article.message", has_text="y esto también").wait_for()
    for _ in range(50):
        if in_plain_thread(last_read_seq, luis, "general") > seq_before:
            break
        luis_page.wait_for_timeout(100)
    assert in_plain_thread(last_read_seq, luis, "general") > seq_before
    assert luis_page.evaluate("window.mostUnread") == 0

    # Marta is not in the private room: a mention there reaches her nowhere. The mention
    # in a public room that follows it proves her socket was listening all along.
    ana_page.goto(f"{server.http}/rooms/secreto/")
    ana_page.wait_for_selector("#estado-conexion.estado-success")
    say(ana_page, "@marta no deberías ver esto")
    ana_page.locator("article.message:not(.pending)", has_text="no deberías").wait_for()
    ana_page.goto(f"{server.http}/rooms/general/")
    ana_page.wait_for_selector("#estado-conexion.estado-success")
    say(ana_page, "@marta ahora sí")
    marta_toasts = marta_page.locator("#toasts .toast")
    expect(marta_toasts.locator(".toast-message")).to_have_text(["@marta ahora sí"])
    expect(panel_items(marta_page)).to_have_count(1)
    expect(marta_page.locator("#notificaciones-contador")).to_have_text("1")
    assert luis_errors == [] and marta_errors == [] and ana_errors == []


def test_an_offline_user_finds_the_notifications_they_missed(browser, charla_servers, redis_url, luis):
    (server,) = charla_servers(1, redis_url=redis_url)
    in_plain_thread(notify, luis, "Order shipped", "It is on its way", "/notifications/")

    page, errors = open_page(browser, server, "luis")
    expect(page.locator("#notificaciones-contador")).to_have_text("1")
    item = panel_items(page)
    expect(item).to_have_count(1)
    expect(item.locator(".notification-title")).to_have_text("Order shipped")
    expect(item.locator(".notification-message")).to_have_text("It is on its way")

    # Opening it marks it read and follows its link.
    item.click()
    page.wait_for_url(f"{server.http}/notifications/")
    page.wait_for_selector("#notificaciones[data-state=connected]")
    expect(page.locator("#notificaciones-contador")).to_be_hidden()
    row = page.locator("#pagina-notificaciones .notification-row", has_text="Order shipped")
    expect(row).not_to_contain_class("unread")
    assert errors == []
