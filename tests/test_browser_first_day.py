"""What a new team hit on its first day (issue 12), each checked in Chromium as a person meets it."""

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from charla.chat import services
from charla.chat.models import Message
from tests.support.browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1180, "height": 720}}


def open_room(browser, server, who, room="general", **context):
    page = browser.new_context(locale="en-US", timezone_id="UTC", **(context or DESKTOP)).new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, server.http, who, f"pw-{who}")
    page.goto(f"{server.http}/rooms/{room}/")
    page.wait_for_selector("#estado-conexion.estado-success")
    return page, errors


def test_messages_are_reachable_by_keyboard_with_a_visible_focus_and_their_actions(browser, charla_servers, ana):
    room = services.room_create(creator=ana, name="general")
    services.message_send(room=room, author=ana, content="first")
    services.message_send(room=room, author=ana, content="second, to edit")
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "ana")

    page.focus("#mensajes")
    page.keyboard.press("ArrowUp")
    focused = page.locator("article.message:focus")
    expect(focused).to_contain_text("second, to edit")
    assert focused.evaluate("el => getComputedStyle(el).outlineStyle") != "none", "the focus shows"
    page.keyboard.press("ArrowUp")
    expect(page.locator("article.message:focus")).to_contain_text("first")
    page.keyboard.press("End")
    page.keyboard.press("Tab")
    edit = page.locator("article.message", has_text="second, to edit").locator("[data-action=edit]")
    expect(edit).to_be_focused()
    page.keyboard.press("Enter")
    page.fill(".message-edit-input", "second, edited by keyboard")
    page.keyboard.press("Enter")
    expect(page.locator("article.message:not(.editing)", has_text="edited by keyboard")).to_be_visible()
    assert errors == []
    assert "StreamingHttpResponse" not in server.log.read_text(), "the server's log stays free of that warning"


def test_on_a_phone_the_menu_has_the_members_page_and_esc_closes_it_saying_so(browser, charla_servers, ana):
    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "ana", **PHONE)
    toggle = page.locator("[data-action=toggle-sidebar]")
    expect(toggle).to_have_attribute("aria-label", "Show rooms and people")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(toggle).to_have_attribute("aria-label", "Hide rooms and people")
    members = page.locator("#enlace-miembros-menu")
    expect(members).to_be_visible()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_have_attribute("aria-label", "Show rooms and people")
    expect(toggle).to_be_focused()
    toggle.click()
    members.click()
    page.wait_for_url(f"{server.http}/rooms/general/members/")
    assert errors == []


def test_a_text_over_the_limit_is_kept_whole_with_a_note_and_times_have_no_leading_zero(browser, charla_servers, ana):
    room = services.room_create(creator=ana, name="general")
    message, _ = services.message_send(room=room, author=ana, content="sent early")
    Message.objects.filter(pk=message.pk).update(sent=datetime(2026, 12, 1, 9, 5, tzinfo=UTC))
    (server,) = charla_servers(1, CHARLA_MESSAGE_MAX_CHARS="20")
    page, errors = open_room(browser, server, "ana")
    expect(page.locator("article.message", has_text="sent early").locator(".message-time")).to_have_text("9:05 AM")

    pasted = "a pasted text that is longer than twenty"
    page.fill("#input-mensaje", pasted)  # as a paste arrives: one input event with all of it
    note = page.locator("#limite-mensaje")
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"{len(pasted) - 20} characters over the limit of 20")
    expect(note).to_contain_text("Nothing was cut")
    assert page.input_value("#input-mensaje") == pasted
    page.press("#input-mensaje", "Enter")
    expect(page.locator("#error-banner")).to_be_visible()
    assert page.input_value("#input-mensaje") == pasted, "refused, and still all there to shorten"
    page.fill("#input-mensaje", "short now")
    expect(note).to_be_hidden()
    page.press("#input-mensaje", "Enter")
    expect(page.locator("article.message:not(.pending)", has_text="short now")).to_be_visible()
    assert not Message.objects.filter(content=pasted).exists()
    assert not re.search(r"\b0\d:\d\d", page.locator("#mensajes").inner_text())
    assert errors == []


def test_edited_follows_the_text_of_a_continued_message_on_its_line(browser, charla_servers, ana):
    room = services.room_create(creator=ana, name="general")
    services.message_send(room=room, author=ana, content="one")
    second, _ = services.message_send(room=room, author=ana, content="two")
    services.message_edit(room=room, user=ana, message_id=second.pk, content="two, fixed")
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "ana")
    message = page.locator("article.message.continued", has_text="two, fixed")
    edited = message.locator(".message-edited").bounding_box()
    text = message.locator(".message-content").bounding_box()
    assert abs(edited["y"] + edited["height"] - (text["y"] + text["height"])) < 6, "on the text's line"
    assert edited["x"] > text["x"] + text["width"] - 1, "after the text"
    assert errors == []


def test_toasts_wait_while_the_notification_panel_is_open(browser, charla_servers, ana, luis, settings):
    from charla.notifications.api import notify_user
    from tests.test_browser import in_plain_thread

    settings.CHARLA_DATABASE_RELAY = True  # this process reaches the server as a command would

    services.room_create(creator=ana, name="general")
    services.room_open(user=luis, name="general")
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "luis")
    page.click("#campana-notificaciones")
    expect(page.locator("#panel-notificaciones")).to_be_visible()
    in_plain_thread(notify_user, luis, "Deploy done", "v2.3 is live")
    page.locator("#lista-notificaciones .notification-item", has_text="Deploy done").wait_for()
    toast = page.locator("#toasts .toast", has_text="Deploy done")
    expect(toast).to_be_hidden()  # not over the panel, which shows it
    page.keyboard.press("Escape")
    expect(page.locator("#panel-notificaciones")).to_be_hidden()
    expect(toast).to_be_visible()
    assert errors == []


def test_a_room_with_120_unread_opens_at_the_first_with_the_line_above_it_and_the_latest_at_hand(
    browser, charla_servers, ana, luis
):
    room = services.room_create(creator=ana, name="general")
    services.room_open(user=luis, name="general")
    for n in range(1, 11):
        services.message_send(room=room, author=ana, content=f"read {n}")
    services.room_mark_read(room=room, user=luis)
    for n in range(1, 121):
        services.message_send(room=room, author=ana, content=f"unread {n}")
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "luis")

    divider = page.locator(".unread-divider")
    expect(divider).to_be_visible()
    after = divider.evaluate("el => el.nextElementSibling.querySelector('.message-content').textContent")
    before = divider.evaluate("el => el.previousElementSibling.querySelector('.message-content').textContent")
    assert (before, after) == ("read 10", "unread 1"), "the line sits right above the first unread message"
    expect(page.locator(".message-content", has_text=re.compile(r"^unread 1$"))).to_be_in_viewport()
    latest = page.locator("#nuevos-mensajes")
    expect(latest).to_be_visible()
    latest.click()
    expect(page.locator(".message-content", has_text="unread 120")).to_be_in_viewport()
    expect(latest).to_be_hidden()
    assert errors == []


def test_settings_from_the_account_menu_theme_language_and_desktop(browser, charla_servers, ana):
    services.room_create(creator=ana, name="general")
    (server,) = charla_servers(1)
    context = browser.new_context(locale="en-US", color_scheme="light", **DESKTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, server.http, "ana", "pw-ana")
    menu = page.locator("#boton-cuenta")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(page.locator("#menu-cuenta")).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    page.locator("#enlace-ajustes").click()
    page.wait_for_url(f"{server.http}/settings/")

    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.select_option("#id_theme", "dark")
    page.select_option("#id_language", "es")
    page.uncheck("#id_desktop_notifications")
    page.locator("#form-ajustes [type=submit]").click()
    page.wait_for_url(f"{server.http}/settings/")
    expect(page.locator(".flash")).to_contain_text("Tus ajustes")  # the page answers in Spanish at once
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert dark != light and page.evaluate("document.documentElement.dataset.theme") == "dark"
    expect(page.locator("#notificaciones")).to_have_attribute("data-desktop-wanted", "off")

    # On another browser, logging in brings the language back.
    other = browser.new_context(locale="en-US", **DESKTOP).new_page()
    login(other, server.http, "ana", "pw-ana")
    assert other.evaluate("document.documentElement.lang") == "es"
    assert errors == []


def test_on_a_phone_a_tapped_messages_actions_are_in_view_even_at_the_bottom(browser, charla_servers, ana):
    room = services.room_create(creator=ana, name="general")
    for n in range(1, 41):
        services.message_send(room=room, author=ana, content=f"line {n}")
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "ana", **PHONE)
    last = page.locator("article.message", has_text="line 40")
    last.locator(".message-content").tap()
    edit = last.locator("[data-action=edit]")
    expect(edit).to_be_visible()
    expect(edit).to_be_in_viewport(ratio=1)
    composer = page.locator("#form-mensaje").bounding_box()
    assert edit.bounding_box()["y"] + edit.bounding_box()["height"] <= composer["y"], "not under the composer"
    edit.tap()
    expect(page.locator(".message-edit-input")).to_be_visible()
    assert errors == []


def test_muted_and_mentions_only_rooms_stay_quiet_live(browser, charla_servers, ana, luis, settings):
    from tests.test_browser import in_plain_thread

    settings.CHARLA_DATABASE_RELAY = True  # this process's sends reach the server as a second worker's would
    rooms = {}
    for name in ("general", "loud", "news", "ops"):
        rooms[name] = services.room_create(creator=ana, name=name)
        services.room_open(user=luis, name=name)
    services.rooms_notify_set(user=luis, levels={rooms["news"].pk: "mentions", rooms["ops"].pk: "nothing"})
    (server,) = charla_servers(1)
    page, errors = open_room(browser, server, "luis")
    page.wait_for_selector("#notificaciones[data-state=connected]")

    def say(room, text):
        in_plain_thread(lambda: services.message_send(room=rooms[room], author=ana, content=text))

    for room in ("news", "ops", "loud"):
        say(room, f"something in {room}")
    loud = page.locator('#lista-salas li[data-room="loud"]')
    expect(loud.locator(".badge-unread")).to_have_text("1")  # the last one: the others came before it
    for quiet in ("news", "ops"):
        item = page.locator(f'#lista-salas li[data-room="{quiet}"]')
        expect(item).to_have_attribute("data-unread", "1")  # counted, but not shown
        expect(item.locator(".badge-unread")).to_be_hidden()
    say("news", "@luis in news")
    say("ops", "@luis in ops")
    say("loud", "the end")
    expect(loud.locator(".badge-unread")).to_have_text("2")
    expect(page.locator('#lista-salas li[data-room="news"] .badge-mention')).to_have_text("@1")
    expect(page.locator('#lista-salas li[data-room="ops"] .badge-mention')).to_be_hidden()
    expect(page.locator("#toasts .toast", has_text="in news")).to_be_visible()
    assert page.locator("#toasts .toast", has_text="in ops").count() == 0
    assert errors == []
