"""Notifications sent from any Django process reach the right pages on every server process, once."""

import asyncio
import json
import threading

import pytest
import websockets
from channels.layers import channel_layers
from django.conf import settings as django_settings
from django.db import connection, transaction

from charla.notifications import api, services
from charla.notifications.models import Notification
from config.settings import channel_layers_for
from tests.conftest import ORIGIN, session_cookie

pytestmark = [pytest.mark.processes, pytest.mark.django_db(transaction=True)]

QUIET = 1.0  # seconds to wait for a duplicate or a frame that should not come


@pytest.fixture
def shared_layer(settings, redis_url):
    """This test process joins the servers' Redis channel layer, as a worker or a cron job would."""
    settings.CHANNEL_LAYERS = channel_layers_for(redis_url)  # the servers' own layer
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


def notifications_socket(server, cookie: str):
    """A websockets client for the server's notifications socket, logged in with a session cookie."""
    return websockets.connect(
        f"ws://127.0.0.1:{server.port}/ws/notifications/",
        origin=ORIGIN + f":{server.port}",
        additional_headers={"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}"},
        open_timeout=10,
    )


def closing_connection(function):
    """Run `function` in a worker thread's own database connection, closed afterwards."""

    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return run


async def first_frame(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 10))


async def frames_until_quiet(ws, quiet: float = QUIET) -> list[dict]:
    """Every frame the socket gets until nothing more arrives for `quiet` seconds."""
    frames = []
    while True:
        try:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), quiet)))
        except TimeoutError:
            return frames


def test_announcement_reaches_every_connected_user_once_on_both_processes_but_not_a_user_created_after_it(
    charla_servers, redis_url, shared_layer, ana, luis, make_user
):
    one, two = charla_servers(2, redis_url=redis_url, CHARLA_SEND_RATE="off")
    offline = make_user("marta")
    cookies = {user.username: session_cookie(user) for user in (ana, luis)}
    announced, late_user_connected = threading.Event(), threading.Event()

    @closing_connection
    def announce_and_commit_once_the_late_user_is_connected():
        with transaction.atomic():
            announcement = api.announce("Mantenimiento", "Esta noche a las 22:00", priority="high")
            announced.set()
            assert late_user_connected.wait(20)
        return announcement

    @closing_connection
    def sign_up_late_user():
        late = make_user("tarde")
        return late, session_cookie(late)

    async def scenario():
        async with (
            notifications_socket(one, cookies["ana"]) as ana_page,
            notifications_socket(two, cookies["luis"]) as luis_on_two,
            notifications_socket(one, cookies["luis"]) as luis_on_one,
        ):
            pages = [ana_page, luis_on_two, luis_on_one]
            for page in pages:
                assert (await first_frame(page))["type"] == "historial_notificaciones"
            sending = asyncio.create_task(asyncio.to_thread(announce_and_commit_once_the_late_user_is_connected))
            assert await asyncio.to_thread(announced.wait, 20)
            late, late_cookie = await asyncio.to_thread(sign_up_late_user)
            async with notifications_socket(two, late_cookie) as late_page:
                assert await first_frame(late_page) == {
                    "type": "historial_notificaciones",
                    "notificaciones": [],
                    "no_leidas": 0,
                    "salas": {},
                }
                late_user_connected.set()
                announcement = await sending
                got = await asyncio.gather(*(frames_until_quiet(page) for page in [*pages, late_page]))
        for frames in got[:3]:
            assert frames == [
                {
                    "type": "notificacion",
                    "id": None,
                    "anuncio_id": announcement.pk,
                    "titulo": "Mantenimiento",
                    "mensaje": "Esta noche a las 22:00",
                    "prioridad": "alta",
                    "creado": announcement.created.isoformat(),
                    "leida": False,
                }
            ], "every page of every recipient gets the announcement once"
        assert got[3] == [], "a user who did not exist when it was sent is not a recipient"
        return announcement, late

    announcement, late = asyncio.run(scenario())
    recipients = Notification.objects.filter(announcement=announcement).values_list("recipient__username", flat=True)
    assert sorted(recipients) == ["ana", "luis", "marta"], "the offline user finds it waiting; the late one has none"
    assert offline.username in recipients and late.username not in recipients


def test_personal_notification_and_its_read_state_reach_only_that_users_pages_on_both_processes(
    charla_servers, redis_url, shared_layer, ana, luis
):
    one, two = charla_servers(2, redis_url=redis_url, CHARLA_SEND_RATE="off")
    cookies = {user.username: session_cookie(user) for user in (ana, luis)}
    notify = closing_connection(api.notify_user)
    mark_read = closing_connection(services.mark_read)

    async def scenario():
        async with (
            notifications_socket(one, cookies["luis"]) as luis_on_one,
            notifications_socket(two, cookies["luis"]) as luis_on_two,
            notifications_socket(two, cookies["ana"]) as ana_page,
        ):
            for page in (luis_on_one, luis_on_two, ana_page):
                assert (await first_frame(page))["type"] == "historial_notificaciones"

            notification = await asyncio.to_thread(notify, luis.pk, "Tu exportación", "Lista", url="/exports/9/")
            got = await asyncio.gather(*(frames_until_quiet(p) for p in (luis_on_one, luis_on_two, ana_page)))
            expected = {
                "type": "notificacion_personal",
                "id": notification.pk,
                "titulo": "Tu exportación",
                "mensaje": "Lista",
                "url": "/exports/9/",
                "tipo": "personal",
                "creado": notification.created.isoformat(),
                "leida": False,
            }
            assert got == [[expected], [expected], []]

            assert await asyncio.to_thread(mark_read, luis, ids=[notification.pk]) == 1
            got = await asyncio.gather(*(frames_until_quiet(p) for p in (luis_on_one, luis_on_two, ana_page)))
            assert [[(f["type"], f["ids"]) for f in frames] for frames in got] == [
                [("notificaciones_leidas", [notification.pk])],
                [("notificaciones_leidas", [notification.pk])],
                [],
            ]

        async with notifications_socket(two, cookies["luis"]) as again:
            return await first_frame(again)

    history = asyncio.run(scenario())
    assert history == {"type": "historial_notificaciones", "notificaciones": [], "no_leidas": 0, "salas": {}}
