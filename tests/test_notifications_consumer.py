"""The notifications socket (/ws/notifications/) through the real routing and middleware."""

import asyncio
import json

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from charla.chat import services as chat_services
from charla.chat.models import Membership
from charla.notifications import api, services
from charla.notifications.models import Notification
from tests.conftest import ORIGIN, session_cookie
from tests.support.chat import read_ids
from tests.support.ws import connected_and_settled, receive, refusal_code, send

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

HISTORY_KEYS = {"type", "notificaciones", "no_leidas", "salas"}
PERSONAL_KEYS = {"type", "id", "titulo", "mensaje", "url", "tipo", "creado", "leida"}
ANNOUNCEMENT_KEYS = {"type", "id", "anuncio_id", "titulo", "mensaje", "prioridad", "creado", "leida"}


@pytest_asyncio.fixture
async def notifications_socket():
    """Open a notifications socket as `user` (None: anonymous), as a logged-in page does.

    Returns (communicator, connected, close_code); sockets are disconnected at teardown.
    """
    from config.asgi import application

    opened = []

    async def connect(user, *, origin: str | None = ORIGIN):
        headers = [(b"host", b"127.0.0.1")]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        if user is not None:
            cookie = await sync_to_async(session_cookie)(user)
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
        communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, code = await communicator.connect(timeout=5)
        opened.append(communicator)
        return communicator, connected, code

    yield connect
    for communicator in opened:
        if not communicator.future.done():  # a receive that timed out has already stopped the app
            await communicator.disconnect()


@pytest.fixture
def secret(ana, luis):
    room = chat_services.room_create(creator=ana, name="secret", is_private=True)
    chat_services.member_add(room=room, actor=ana, user=luis)
    Notification.objects.all().delete()  # the "you were added" notice is not what these tests are about
    return room


async def opened(connect, user) -> tuple[WebsocketCommunicator, dict]:
    """A connected notifications socket and its first frame."""
    communicator, connected, code = await connect(user)
    assert connected, f"refused with {code}"
    return communicator, await receive(communicator)


notify_user = sync_to_async(api.notify_user)
announce = sync_to_async(api.announce)
message_send = sync_to_async(chat_services.message_send)


def delivery_id(user, announcement_id: int) -> int:
    return Notification.objects.get(recipient=user, announcement_id=announcement_id).pk


def mention_id(message) -> int:
    return Notification.objects.get(chat_message=message).pk


async def post_json(user, path: str, data: dict) -> tuple[int, dict]:
    def post():
        client = Client()
        client.force_login(user)
        response = client.post(path, json.dumps(data), content_type="application/json")
        return response.status_code, response.json()

    return await sync_to_async(post)()


# Who may connect.


async def test_anonymous_socket_is_refused(notifications_socket):
    comm, connected, _ = await notifications_socket(None)
    assert await refusal_code(comm, connected) == 4401


@pytest.mark.parametrize("origin", ["http://evil.example", "null", None])
async def test_foreign_missing_or_null_origin_is_refused(notifications_socket, ana, origin):
    _, connected, _ = await notifications_socket(ana, origin=origin)
    assert not connected


async def test_logging_out_closes_that_sessions_pages_and_no_other(luis):
    """A logged-out page must stop hearing the user's notifications at once."""
    from config.asgi import application

    def logged_in_client():
        client = Client()
        client.force_login(luis)
        return client

    async def page_of(client):
        cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        headers = [(b"host", b"127.0.0.1"), (b"origin", ORIGIN.encode()), (b"cookie", cookie.encode())]
        communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        await receive(communicator)  # its history
        return communicator

    leaving, staying = await sync_to_async(logged_in_client)(), await sync_to_async(logged_in_client)()
    gone, kept = await page_of(leaving), await page_of(staying)
    await sync_to_async(leaving.post)("/accounts/logout/")
    assert await gone.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    notification = await notify_user(luis, "still here", "m")
    assert (await receive(kept))["id"] == notification.pk
    await kept.disconnect()


# What a page finds on connect.


async def test_first_frame_is_the_unread_history_newest_first_with_the_unread_count(notifications_socket, ana, luis):
    first = await notify_user(luis, "primera", "m", url="/uno/")
    read = await notify_user(luis, "leída", "m")
    await sync_to_async(services.mark_read)(luis, ids=[read.pk])
    announcement = await announce("anuncio", "para todos", priority="low")
    await notify_user(ana, "de ana", "m")

    _, history = await opened(notifications_socket, luis)
    assert set(history) == HISTORY_KEYS and history["type"] == "historial_notificaciones"
    assert history["no_leidas"] == 2
    newest, oldest = history["notificaciones"]
    assert set(newest) == ANNOUNCEMENT_KEYS and set(oldest) == PERSONAL_KEYS
    delivery = await sync_to_async(Notification.objects.get)(recipient=luis, announcement=announcement)
    assert newest == {
        "type": "notificacion",
        "id": delivery.pk,
        "anuncio_id": announcement.pk,
        "titulo": "anuncio",
        "mensaje": "para todos",
        "prioridad": "baja",
        "creado": delivery.created.isoformat(),
        "leida": False,
    }
    assert oldest["id"] == first.pk and oldest["titulo"] == "primera"
    assert oldest["url"] == "/uno/" and oldest["tipo"] == "personal" and oldest["leida"] is False


async def test_history_holds_the_latest_50_and_counts_them_all(notifications_socket, luis):
    for i in range(55):
        await notify_user(luis, f"n{i}", "m")
    _, history = await opened(notifications_socket, luis)
    assert [n["titulo"] for n in history["notificaciones"]] == [f"n{i}" for i in range(54, 4, -1)]
    assert history["no_leidas"] == 55


async def test_a_user_with_nothing_unread_gets_an_empty_history(notifications_socket, luis):
    _, history = await opened(notifications_socket, luis)
    assert history == {"type": "historial_notificaciones", "notificaciones": [], "no_leidas": 0, "salas": {}}


# Live frames.


@pytest.mark.parametrize(("priority", "wire"), [("high", "alta"), ("normal", "normal"), ("low", "baja")])
async def test_live_announcement_reaches_every_open_page(notifications_socket, ana, luis, priority, wire):
    pages = [(await opened(notifications_socket, user))[0] for user in (ana, luis, luis)]
    announcement = await announce("Mantenimiento", "Esta noche", priority=priority)
    for page in pages:
        frame = await receive(page)
        assert set(frame) == ANNOUNCEMENT_KEYS
        assert frame == {
            "type": "notificacion",
            "id": None,
            "anuncio_id": announcement.pk,
            "titulo": "Mantenimiento",
            "mensaje": "Esta noche",
            "prioridad": wire,
            "creado": announcement.created.isoformat(),
            "leida": False,
        }
        assert await page.receive_nothing(timeout=0.1), "once"


async def test_live_personal_notification_reaches_only_its_users_pages(notifications_socket, ana, luis):
    luis_one, _ = await opened(notifications_socket, luis)
    luis_two, _ = await opened(notifications_socket, luis)
    ana_page, _ = await opened(notifications_socket, ana)
    notification = await notify_user(luis, "Hola", "Solo para ti", url="/rooms/lobby/")
    for page in (luis_one, luis_two):
        frame = await receive(page)
        assert set(frame) == PERSONAL_KEYS
        assert frame == {
            "type": "notificacion_personal",
            "id": notification.pk,
            "titulo": "Hola",
            "mensaje": "Solo para ti",
            "url": "/rooms/lobby/",
            "tipo": "personal",
            "creado": notification.created.isoformat(),
            "leida": False,
        }
    assert await ana_page.receive_nothing(timeout=0.2)


async def test_what_the_client_sends_is_ignored_and_the_socket_stays_open(notifications_socket, luis):
    page, _ = await opened(notifications_socket, luis)
    for text in ("{not json", '{"type": "leido", "seq": 1}', '{"type": "mensaje", "mensaje": "hola"}', "x" * 70000):
        await page.send_to(text_data=text)
    await page.send_to(bytes_data=b"\x00\x01")
    assert await page.receive_nothing(timeout=0.2), "no answer, no error, no close"
    notification = await notify_user(luis, "sigo aquí", "m")
    assert (await receive(page))["id"] == notification.pk


# Read state.


async def test_marking_read_over_http_tells_the_users_other_pages_and_persists(notifications_socket, ana, luis):
    keep = await notify_user(luis, "keep", "m")
    done = await notify_user(luis, "done", "m")
    other, _ = await opened(notifications_socket, luis)
    ana_page, _ = await opened(notifications_socket, ana)

    assert await post_json(luis, "/notifications/read/", {"ids": [done.pk]}) == (200, {"marcadas": 1, "no_leidas": 1})
    assert read_ids(await receive(other)) == [done.pk]
    assert await ana_page.receive_nothing(timeout=0.1)

    _, history = await opened(notifications_socket, luis)
    assert [n["id"] for n in history["notificaciones"]] == [keep.pk] and history["no_leidas"] == 1


async def test_marking_read_with_the_form_persists_across_reconnects(notifications_socket, luis):
    keep = await notify_user(luis, "keep", "m")
    done = await notify_user(luis, "done", "m")
    other, history = await opened(notifications_socket, luis)
    assert history["no_leidas"] == 2

    def post_form():
        client = Client()
        client.force_login(luis)
        return client.post("/notifications/read/", {"id": [str(done.pk)]})

    response = await sync_to_async(post_form)()
    assert response.status_code == 302
    assert read_ids(await receive(other)) == [done.pk]
    _, history = await opened(notifications_socket, luis)
    assert [n["id"] for n in history["notificaciones"]] == [keep.pk] and history["no_leidas"] == 1


async def test_marking_everything_read_tells_the_pages_and_empties_the_history(notifications_socket, luis, ana):
    await notify_user(luis, "a", "m")
    await announce("b", "m")
    other, _ = await opened(notifications_socket, luis)
    assert await post_json(luis, "/notifications/read/", {}) == (200, {"marcadas": 2, "no_leidas": 0})
    assert read_ids(await receive(other)) is None
    _, history = await opened(notifications_socket, luis)
    assert history == {"type": "historial_notificaciones", "notificaciones": [], "no_leidas": 0, "salas": {}}


async def test_a_live_announcement_is_marked_read_by_its_announcement_id(notifications_socket, ana, luis):
    page, _ = await opened(notifications_socket, luis)
    await announce("Aviso", "m")
    live = await receive(page)
    assert live["id"] is None
    status, answer = await post_json(luis, "/notifications/read/", {"anuncios": [live["anuncio_id"]]})
    assert (status, answer) == (200, {"marcadas": 1, "no_leidas": 0})
    assert read_ids(await receive(page)) == [await sync_to_async(delivery_id)(luis, live["anuncio_id"])]
    _, history = await opened(notifications_socket, luis)
    assert history["no_leidas"] == 0
    _, history = await opened(notifications_socket, ana)
    assert history["no_leidas"] == 1, "ana has not read hers"


async def test_other_pages_learn_which_live_announcement_was_read(notifications_socket, ana, luis):
    first, _ = await opened(notifications_socket, luis)
    second, _ = await opened(notifications_socket, luis)
    await announce("Aviso", "m")
    live = await receive(first)
    assert await receive(second) == live
    await post_json(luis, "/notifications/read/", {"anuncios": [live["anuncio_id"]]})
    told = await receive(second)
    assert told["type"] == "notificaciones_leidas"
    assert live["anuncio_id"] in (told.get("anuncios") or []), f"{told} does not name announcement {live['anuncio_id']}"


async def test_a_page_left_open_longer_than_the_layers_group_expiry_still_gets_notifications(
    notifications_socket, luis, settings
):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"group_expiry": 1}}
    }
    settings.CHARLA_WATCH_INTERVAL = 0.2
    channel_layers.backends.clear()
    page, _ = await opened(notifications_socket, luis)
    await asyncio.sleep(2.1)  # the page's group memberships are now older than group_expiry
    notification = await notify_user(luis, "¿sigues ahí?", "m")
    assert (await receive(page, timeout=2))["id"] == notification.pk


# Room activity, mentions and the read cursor.


async def test_room_activity_reaches_members_pages_and_not_outsiders_of_a_private_room(
    notifications_socket, ana, luis, make_user, secret
):
    outsider = await sync_to_async(make_user)("pepe")
    luis_page, _ = await opened(notifications_socket, luis)
    outsider_page, _ = await opened(notifications_socket, outsider)
    message, _ = await message_send(room=secret, author=ana, content="hola")
    frame = await receive(luis_page)
    assert frame == {"type": "actividad_sala", "sala": "secret", "seq": message.seq, "autor": "ana", "menciones": []}
    assert await outsider_page.receive_nothing(timeout=0.2)


async def test_a_mention_reaches_the_mentioned_users_pages_as_a_mention(notifications_socket, ana, luis, lobby):
    await sync_to_async(chat_services.room_open)(user=luis, name="lobby")
    page, _ = await opened(notifications_socket, luis)
    message, _ = await message_send(room=lobby, author=ana, content="@luis ¿vienes?")
    got = {frame["type"]: frame for frame in [await receive(page), await receive(page)]}
    mention = got["notificacion_personal"]
    assert set(mention) == PERSONAL_KEYS
    assert mention["tipo"] == "mencion" and mention["url"] == "/rooms/lobby/"
    assert mention["titulo"] == "@ana #lobby" and mention["mensaje"] == "@luis ¿vienes?"
    assert got["actividad_sala"] == {
        "type": "actividad_sala",
        "sala": "lobby",
        "seq": message.seq,
        "autor": "ana",
        "menciones": ["luis"],
    }
    _, history = await opened(notifications_socket, luis)
    assert history["no_leidas"] == 1 and history["notificaciones"][0]["tipo"] == "mencion"


async def test_joining_a_public_room_while_connected_starts_its_activity(notifications_socket, ana, luis, lobby):
    page, _ = await opened(notifications_socket, luis)
    await message_send(room=lobby, author=ana, content="antes")
    assert await page.receive_nothing(timeout=0.2), "not a member yet"
    await sync_to_async(chat_services.room_open)(user=luis, name="lobby")
    await page.receive_nothing(timeout=0.1)  # let the page re-read its rooms
    message, _ = await message_send(room=lobby, author=ana, content="después")
    assert await receive(page) == {
        "type": "actividad_sala",
        "sala": "lobby",
        "seq": message.seq,
        "autor": "ana",
        "menciones": [],
    }


async def test_a_removed_member_stops_receiving_the_rooms_activity(notifications_socket, ana, luis, secret):
    page, _ = await opened(notifications_socket, luis)
    await message_send(room=secret, author=ana, content="antes")
    assert (await receive(page))["type"] == "actividad_sala"
    await sync_to_async(chat_services.member_remove)(room=secret, actor=ana, user=luis)
    await page.receive_nothing(timeout=0.1)  # let the page re-read its rooms
    await message_send(room=secret, author=ana, content="@luis después")
    assert await page.receive_nothing(timeout=0.2)


async def test_leido_on_a_chat_socket_moves_the_cursor_forward_only_and_tells_the_users_pages(
    notifications_socket, ws_connect, ana, luis, lobby
):
    await sync_to_async(chat_services.room_open)(user=luis, name="lobby")
    mentioned, _ = await message_send(room=lobby, author=ana, content="@luis uno")
    await message_send(room=lobby, author=ana, content="dos")
    later, _ = await message_send(room=lobby, author=ana, content="@luis tres")
    chat, *_ = await ws_connect(luis, "lobby")
    await connected_and_settled(chat)
    pages = [(await opened(notifications_socket, luis))[0] for _ in range(2)]

    def cursor() -> int:
        return Membership.objects.get(room=lobby, user=luis).last_read_seq

    def unread_mentions() -> list[int]:
        return list(Notification.objects.for_user(luis).unread().values_list("chat_message_id", flat=True))

    await send(chat, {"type": "leido", "seq": 2})
    for page in pages:
        read_frame, room_frame = await receive(page), await receive(page)
        assert read_ids(read_frame) == [await sync_to_async(mention_id)(mentioned)]
        assert room_frame == {"type": "sala_leida", "sala": "lobby", "seq": 2}
    assert await sync_to_async(cursor)() == 2
    assert await sync_to_async(unread_mentions)() == [later.pk]
    assert mentioned.pk not in await sync_to_async(unread_mentions)()

    await send(chat, {"type": "leido", "seq": 1})
    assert await pages[0].receive_nothing(timeout=0.2), "going back tells nobody anything"
    assert await sync_to_async(cursor)() == 2, "never backward"

    await send(chat, {"type": "leido", "seq": 1000})
    frames = [await receive(pages[0]), await receive(pages[0])]
    assert frames[-1] == {"type": "sala_leida", "sala": "lobby", "seq": 3}
    assert await sync_to_async(cursor)() == 3, "never past the room's last event"
    assert await sync_to_async(unread_mentions)() == []
    assert await chat.receive_nothing(timeout=0.1), "the chat socket itself gets no answer"


async def test_the_history_carries_each_rooms_unread_and_mention_counts(notifications_socket, ana, luis, lobby):
    """So a page's badges are right again after its notifications socket reconnects."""
    await sync_to_async(chat_services.room_open)(user=luis, name="lobby")
    await message_send(room=lobby, author=ana, content="hola")
    await message_send(room=lobby, author=ana, content="@luis ¿estás?")
    await message_send(room=lobby, author=luis, content="my own message is not unread for me")
    _, history = await opened(notifications_socket, luis)
    assert history["salas"] == {"lobby": {"no_leidos": 2, "menciones": 1}}
    await sync_to_async(chat_services.room_mark_read)(room=lobby, user=luis)
    _, history = await opened(notifications_socket, luis)
    assert history["salas"] == {"lobby": {"no_leidos": 0, "menciones": 0}}
