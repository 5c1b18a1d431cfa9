"""Zulip's test_events, for Charla: every action that emits frames runs through the real stack
(services with their on-commit callbacks, sockets over config.asgi), and every frame a socket
actually receives is checked against its socket's schema: every required key, no other, the
right types. A frame type with no schema fails, and so does a schema no action here emits."""

import json

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from charla.chat import services
from charla.chat.events import SERVER_FRAMES
from charla.chat.models import Message
from charla.chat.schema import check_frame
from charla.notifications import api
from charla.notifications import services as notification_services
from charla.notifications.protocol import NOTIFICATION_FRAMES
from tests.conftest import ORIGIN, session_cookie
from tests.support.ws import send

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

SETTLE = 0.3  # seconds of silence after which a socket has nothing more to say


class Wire:
    """Every socket a test opens; each frame they receive is checked against its socket's schemas."""

    def __init__(self, ws_connect):
        self.ws_connect = ws_connect
        self.sockets: list[tuple[str, WebsocketCommunicator, dict]] = []
        self.notification_sockets: list[WebsocketCommunicator] = []
        self.seen: set[str] = set()
        self.closes: dict[str, int] = {}

    async def chat(self, user, room: str, *, name: str, query: str = "") -> WebsocketCommunicator:
        communicator, connected, code = await self.ws_connect(user, room, query=query)
        assert connected, f"refused with {code}"
        self.sockets.append((name, communicator, SERVER_FRAMES))
        return communicator

    async def notifications(self, user, *, name: str) -> WebsocketCommunicator:
        from config.asgi import application

        cookie = await sync_to_async(session_cookie)(user)
        headers = [
            (b"host", b"127.0.0.1"),
            (b"origin", ORIGIN.encode()),
            (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
        ]
        communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=headers)
        connected, code = await communicator.connect(timeout=5)
        assert connected, f"refused with {code}"
        self.sockets.append((name, communicator, NOTIFICATION_FRAMES))
        self.notification_sockets.append(communicator)
        return communicator

    async def frames(self, settle: float = SETTLE) -> dict[str, list[dict]]:
        """What each open socket received since the last call, every frame checked against its schema."""
        received: dict[str, list[dict]] = {}
        for name, communicator, schemas in self.sockets:
            if name in self.closes:
                continue
            got = received.setdefault(name, [])
            while not await communicator.receive_nothing(timeout=settle):
                output = await communicator.receive_output()
                if output["type"] == "websocket.close":
                    self.closes[name] = output.get("code")
                    break
                assert output["type"] == "websocket.send" and "text" in output, output
                frame = json.loads(output["text"])
                check_frame(frame, schemas)
                got.append(frame)
                self.seen.add(frame["type"])
        return received

    async def close(self) -> None:
        for name, communicator, _schemas in self.sockets:
            if name not in self.closes and not communicator.future.done():
                await communicator.disconnect()


@pytest_asyncio.fixture
async def wire(ws_connect):
    opened = Wire(ws_connect)
    yield opened
    await opened.close()


def types(frames: list[dict]) -> list[str]:
    return [frame["type"] for frame in frames]


@pytest.fixture
def general(ana, luis):
    room = services.room_create(creator=ana, name="general")
    services.room_open(user=luis, name="general")
    return room


@pytest.fixture
def quick(settings):
    settings.CHARLA_TYPING_INTERVAL = 0.05
    settings.CHARLA_MASS_MENTION_CONFIRM_OVER = 0  # luis alone is a room to confirm for


CHAT_ACTIONS = {
    "historial",
    "usuarios_conectados",
    "usuario_unido",
    "usuario_salio",
    "escribiendo",
    "dejar_escribir",
    "mensaje",
    "mensaje_editado",
    "mensaje_eliminado",
    "error",
    "historial_notificaciones",
    "actividad_sala",
    "notificacion_personal",
    "sala_leida",
    "notificaciones_leidas",
}


async def test_every_chat_action_emits_frames_that_fit_their_schemas(wire, ana, luis, general, quick):
    a = await wire.chat(ana, "general", name="ana")
    await wire.notifications(ana, name="ana-notifications")
    await wire.notifications(luis, name="luis-notifications")
    got = await wire.frames()
    assert set(types(got["ana"])) == {"historial", "usuario_unido", "usuarios_conectados"}
    assert types(got["ana-notifications"]) == ["historial_notificaciones"]

    b = await wire.chat(luis, "general", name="luis")
    got = await wire.frames()
    assert types(got["ana"]) == ["usuario_unido"]
    assert set(types(got["luis"])) == {"historial", "usuario_unido", "usuarios_conectados"}

    await send(a, {"type": "escribiendo"})
    await send(a, {"type": "dejar_escribir"})
    got = await wire.frames()
    assert types(got["luis"]) == ["escribiendo", "dejar_escribir"] and got["ana"] == []

    # A send with a mention, and its retry (echoed to the sender only).
    await send(a, {"type": "mensaje", "mensaje": "hola @luis", "client_id": "c1"})
    got = await wire.frames()
    assert types(got["ana"]) == types(got["luis"]) == ["mensaje"]
    assert types(got["ana-notifications"]) == ["actividad_sala"]
    assert sorted(types(got["luis-notifications"])) == ["actividad_sala", "notificacion_personal"]
    first = got["ana"][0]["mensaje"]
    await send(a, {"type": "mensaje", "mensaje": "hola @luis", "client_id": "c1"})
    got = await wire.frames()
    assert got["ana"] == [{"type": "mensaje", "mensaje": first}] and got["luis"] == []

    # @sala: refused until confirmed, then notifies the room.
    await send(a, {"type": "mensaje", "mensaje": "@sala reunión", "client_id": "c2"})
    got = await wire.frames()
    assert [(f["type"], f["code"], f["miembros"]) for f in got["ana"]] == [("error", "mass_mention_confirm", 1)]
    await send(a, {"type": "mensaje", "mensaje": "@sala reunión", "client_id": "c2", "confirmar_mencion": True})
    got = await wire.frames()
    assert types(got["luis"]) == ["mensaje"]
    assert sorted(types(got["luis-notifications"])) == ["actividad_sala", "notificacion_personal"]
    room_wide = got["luis"][0]["mensaje"]

    await send(a, {"type": "editar", "id": first["id"], "mensaje": "hola de nuevo"})
    got = await wire.frames()
    assert types(got["ana"]) == types(got["luis"]) == ["mensaje_editado"]

    # Deleting a message withdraws its unread mention.
    await send(a, {"type": "eliminar", "id": room_wide["id"]})
    got = await wire.frames()
    assert types(got["ana"]) == types(got["luis"]) == ["mensaje_eliminado"]
    assert types(got["luis-notifications"]) == ["notificaciones_leidas"]

    # Reading the room marks its mentions read and tells the reader's other pages.
    await send(b, {"type": "leido", "seq": first["seq"]})
    got = await wire.frames()
    assert sorted(types(got["luis-notifications"])) == ["notificaciones_leidas", "sala_leida"]

    # Every error the socket sends.
    for raw in ("{oops", "[1]", '{"type": "bailar"}', '{"type": "eliminar", "id": "x"}', '{"mensaje": " "}'):
        await b.send_to(text_data=raw)
    await b.send_to(bytes_data=b"\x00")
    await send(b, {"type": "editar", "id": first["id"], "mensaje": "mío"})
    await send(b, {"type": "eliminar", "id": 10**9})
    got = await wire.frames()
    codes = [frame["code"] for frame in got["luis"]]
    assert codes == [
        "invalid_json",
        "invalid_frame",
        "unknown_type",
        "invalid_field",
        "empty_message",
        "binary_frame",
        "forbidden",
        "message_not_found",
    ]

    await b.disconnect()
    wire.closes["luis"] = 1000
    got = await wire.frames()
    assert types(got["ana"]) == ["usuario_salio"]
    assert CHAT_ACTIONS <= wire.seen, sorted(CHAT_ACTIONS - wire.seen)


async def test_history_with_and_without_after_and_limited_fits_its_schema(wire, ana, general):
    stored = []
    for text in ("uno", "dos", "tres"):
        message, _ = await sync_to_async(services.message_send)(room=general, author=ana, content=text)
        stored.append(message)
    await sync_to_async(services.message_edit)(room=general, user=ana, message_id=stored[0].pk, content="uno bis")
    await sync_to_async(services.message_delete)(room=general, user=ana, message_id=stored[1].pk)
    histories = {}
    for query in ("", "after=1", "after=999", "after=abc"):
        await wire.chat(ana, "general", name=query, query=query)
        histories[query] = [f for f in (await wire.frames())[query] if f["type"] in ("historial", "error")]
    assert [len(h["mensajes"]) for h in histories[""]] == [2]
    delta = histories["after=1"][0]
    assert (delta["limited"], [m["eliminado"] for m in delta["mensajes"]]) == (False, [False, True, False])
    assert histories["after=999"][0]["limited"] is True
    assert [f["type"] for f in histories["after=abc"]] == ["error", "historial"]
    assert histories["after=abc"][0]["code"] == "invalid_after"


NOTIFICATION_ACTIONS = {"historial_notificaciones", "notificacion", "notificacion_personal", "notificaciones_leidas"}


async def test_every_notification_action_emits_frames_that_fit_their_schemas(wire, ana, luis, general):
    await wire.notifications(luis, name="luis")
    got = await wire.frames()
    assert types(got["luis"]) == ["historial_notificaciones"]

    await sync_to_async(api.notify_user)(luis, "Pedido", "En camino", url="/rooms/general/")
    await sync_to_async(api.notify_user)(luis, "Sin enlace", "Nada")
    await sync_to_async(api.announce)("Mantenimiento", "Esta noche", priority="high", author=ana)
    got = await wire.frames()
    assert types(got["luis"]) == ["notificacion_personal", "notificacion_personal", "notificacion"]
    assert got["luis"][2]["id"] is None

    ids = [frame["id"] for frame in got["luis"][:1]]
    await sync_to_async(notification_services.mark_read)(luis, ids=ids)
    await sync_to_async(notification_services.mark_read)(luis)
    got = await wire.frames()
    assert [(f["ids"] is None, f["anuncios"] is None) for f in got["luis"]] == [(False, False), (True, True)]

    # A reconnect's history carries stored notifications of both kinds, and room counts.
    await sync_to_async(api.announce)("Otra", "Más", priority="low")
    await sync_to_async(api.notify_user)(luis, "Y otra", "Más")
    await wire.notifications(luis, name="luis-again")
    got = await wire.frames()
    history = got["luis-again"][0]
    assert sorted(n["type"] for n in history["notificaciones"]) == ["notificacion", "notificacion_personal"]
    assert history["salas"] == {"general": {"no_leidos": 0, "menciones": 0}}
    assert NOTIFICATION_ACTIONS <= wire.seen, sorted(NOTIFICATION_ACTIONS - wire.seen)


async def test_membership_changes_emit_only_frames_that_fit_their_schemas(wire, ana, luis):
    secret = await sync_to_async(services.room_create)(creator=ana, name="secret", is_private=True)
    await wire.notifications(luis, name="luis-notifications")
    await wire.frames()
    await sync_to_async(services.member_add)(room=secret, actor=ana, user=luis)
    got = await wire.frames()
    assert types(got["luis-notifications"]) == ["notificacion_personal"]  # rooms changed: no frame, a re-watch

    await wire.chat(luis, "secret", name="luis")
    await wire.frames()
    message, _ = await sync_to_async(services.message_send)(room=secret, author=ana, content="solo miembros")
    got = await wire.frames()
    assert types(got["luis"]) == ["mensaje"]
    assert types(got["luis-notifications"]) == ["actividad_sala"], "the new room's activity is followed"

    await sync_to_async(services.member_remove)(room=secret, actor=ana, user=luis)
    got = await wire.frames()
    assert got["luis"] == [] and wire.closes["luis"] == 4403
    assert await sync_to_async(Message.objects.filter(pk=message.pk).exists)()


async def test_the_actions_here_cover_every_schema():
    """A schema that no action in this module emits is a frame nobody checks: add its action."""
    assert CHAT_ACTIONS | NOTIFICATION_ACTIONS | {"historial", "error"} == set(SERVER_FRAMES) | set(NOTIFICATION_FRAMES)
