"""The chat socket through the real routing and middleware: every frame, error and refusal."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as settings_module

from charla.chat import broadcast, protocol, services
from charla.chat.models import Message
from tests.support.ws import connected_and_settled, receive, receive_until, refusal_code, send

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def general(ana):
    return services.room_create(creator=ana, name="general-chat")


@pytest.fixture
def private(ana):
    return services.room_create(creator=ana, name="secret", is_private=True)


send_message = sync_to_async(services.message_send)


async def test_history_on_connect_is_last_50_oldest_first(ws_connect, ana, general):
    for i in range(55):
        await send_message(room=general, author=ana, content=f"m{i}")
    comm, connected, _ = await ws_connect(ana, "general-chat")
    assert connected
    history = await receive(comm)
    assert history["type"] == "historial"
    assert [m["contenido"] for m in history["mensajes"]] == [f"m{i}" for i in range(5, 55)]
    assert history["seq"] == 55 and history["limited"] is False


async def test_message_reaches_everyone_in_the_room_sender_included(ws_connect, ana, luis, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    await send(b, {"type": "mensaje", "mensaje": "  hola a todos  "})
    for comm in (a, b):
        frame = await receive_until(comm, "mensaje")
        assert frame["mensaje"]["contenido"] == "hola a todos"
        assert frame["mensaje"]["autor"] == "luis"
    assert await sync_to_async(Message.objects.count)() == 1


async def test_tutorial_frame_without_type_is_a_message(ws_connect, ana, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    await send(a, {"mensaje": "sin tipo"})
    assert (await receive_until(a, "mensaje"))["mensaje"]["contenido"] == "sin tipo"


async def test_anonymous_socket_is_refused(ws_connect, general):
    comm, connected, _ = await ws_connect(None, "general-chat")
    assert await refusal_code(comm, connected) == 4401


async def test_unknown_room_is_refused(ws_connect, ana):
    comm, connected, _ = await ws_connect(ana, "nowhere")
    assert await refusal_code(comm, connected) == 4404


async def test_non_member_cannot_open_private_room(ws_connect, luis, private):
    comm, connected, _ = await ws_connect(luis, "secret")
    assert await refusal_code(comm, connected) == 4404


async def test_member_can_open_private_room(ws_connect, ana, private):
    comm, connected, _ = await ws_connect(ana, "secret")
    assert connected


@pytest.mark.parametrize("origin", ["http://evil.example", "null", None])
async def test_foreign_missing_or_null_origin_is_refused(ws_connect, ana, general, origin):
    _, connected, _ = await ws_connect(ana, "general-chat", origin=origin)
    assert not connected


async def test_typing_reaches_others_but_not_the_typist(ws_connect, ana, luis, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    await receive_until(a, "usuario_unido")  # luis arrived
    await send(a, {"type": "escribiendo"})
    assert await receive(b) == {"type": "escribiendo", "username": "ana"}
    await send(a, {"type": "dejar_escribir"})
    assert await receive(b) == {"type": "dejar_escribir", "username": "ana"}
    assert await a.receive_nothing(timeout=0.3)


async def test_join_and_leave_are_announced_per_user_not_per_tab(ws_connect, ana, luis, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b1, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b1)
    assert await receive(a) == {"type": "usuario_unido", "username": "luis"}
    assert await a.receive_nothing(timeout=0.3), "the room hears the change, not the whole list again"
    b2, *_ = await ws_connect(luis, "general-chat")
    history = await receive(b2)
    assert history["type"] == "historial"
    assert await receive(b2) == {"type": "usuarios_conectados", "usuarios": ["ana", "luis"], "total": 2}
    assert await a.receive_nothing(timeout=0.3), "a second tab must not announce a join"
    await b2.disconnect()
    assert await a.receive_nothing(timeout=0.3), "closing one of two tabs must not announce a leave"
    await b1.disconnect()
    assert await receive(a) == {"type": "usuario_salio", "username": "luis"}
    assert await a.receive_nothing(timeout=0.3)


async def test_a_new_socket_gets_the_whole_online_list_once(ws_connect, ana, luis, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    assert (await receive(b))["type"] == "historial"
    frames = [await receive(b), await receive(b)]
    assert {"type": "usuarios_conectados", "usuarios": ["ana", "luis"], "total": 2} in frames
    assert {"type": "usuario_unido", "username": "luis"} in frames
    assert await b.receive_nothing(timeout=0.3)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ('{"type": "bailar"}', "unknown_type"),
        ('{"type": "mensaje", "mensaje": "   "}', "empty_message"),
        ('{"type": "mensaje", "mensaje": 42}', "invalid_field"),
        ('{"type": "mensaje", "mensaje": "x" , "client_id": 7}', "invalid_field"),
        ('{"type": "editar", "id": "1", "mensaje": "x"}', "invalid_field"),
        ('{"type": "eliminar", "id": true}', "invalid_field"),
        ('{"type": "eliminar", "id": 999999}', "message_not_found"),
    ],
)
async def test_bad_frames_get_an_error_and_the_socket_stays_open(ws_connect, ana, general, raw, code):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    await a.send_to(text_data=raw)
    frame = await receive(a)
    assert frame["type"] == "error" and frame["code"] == code and frame["error"]
    await send(a, {"type": "mensaje", "mensaje": "still here"})
    assert (await receive(a))["mensaje"]["contenido"] == "still here"
    assert await sync_to_async(Message.objects.count)() == 1


async def test_over_long_message_is_refused_and_not_stored(ws_connect, ana, general, settings):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    await send(a, {"type": "mensaje", "mensaje": "x" * (settings.CHARLA_MESSAGE_MAX_CHARS + 1)})
    assert (await receive(a))["code"] == "message_too_long"
    await send(a, {"type": "mensaje", "mensaje": "x" * settings.CHARLA_MESSAGE_MAX_CHARS})
    assert len((await receive(a))["mensaje"]["contenido"]) == settings.CHARLA_MESSAGE_MAX_CHARS
    assert await sync_to_async(Message.objects.count)() == 1


async def test_oversized_and_binary_frames_get_errors(ws_connect, ana, general, settings):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    await a.send_to(text_data=json.dumps({"type": "mensaje", "mensaje": "y" * (settings.CHARLA_FRAME_MAX_BYTES + 1)}))
    assert (await receive(a))["code"] == "frame_too_large"
    await a.send_to(bytes_data=b"\x00\x01")
    assert (await receive(a))["code"] == "binary_frame"


async def test_errors_speak_the_sockets_language(ws_connect, ana, general):
    a, *_ = await ws_connect(ana, "general-chat", headers=[(b"accept-language", b"es-MX,es;q=0.9")])
    await connected_and_settled(a)
    await a.send_to(text_data="{oops")
    assert (await receive(a))["error"] == "JSON inválido."


async def test_edit_own_message_is_broadcast(ws_connect, ana, luis, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    await send(a, {"type": "mensaje", "mensaje": "helo"})
    sent = (await receive_until(b, "mensaje"))["mensaje"]
    await receive_until(a, "mensaje")
    await send(a, {"type": "editar", "id": sent["id"], "mensaje": "hello"})
    for comm in (a, b):
        frame = await receive_until(comm, "mensaje_editado")
        assert frame["mensaje"]["id"] == sent["id"]
        assert frame["mensaje"]["contenido"] == "hello" and frame["mensaje"]["editado"] is True
        assert frame["seq"] == sent["seq"] + 1


async def test_cannot_edit_or_delete_someone_elses_message(ws_connect, ana, luis, general):
    message, _ = await send_message(room=general, author=ana, content="mine")
    await sync_to_async(services.room_open)(user=luis, name="general-chat")
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    await send(b, {"type": "editar", "id": message.pk, "mensaje": "yours now"})
    assert (await receive(b))["code"] == "forbidden"
    await send(b, {"type": "eliminar", "id": message.pk})
    assert (await receive(b))["code"] == "forbidden"
    await sync_to_async(message.refresh_from_db)()
    assert message.content == "mine" and not message.deleted


async def test_delete_own_message_is_broadcast_and_leaves_history(ws_connect, ana, luis, general):
    message, _ = await send_message(room=general, author=ana, content="oops")
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    await send(a, {"type": "eliminar", "id": message.pk})
    assert await receive_until(a, "mensaje_eliminado") == {"type": "mensaje_eliminado", "id": message.pk, "seq": 2}
    b, *_ = await ws_connect(luis, "general-chat")
    assert (await receive(b))["mensajes"] == []


async def test_retried_send_with_client_id_stores_once_and_echoes_to_sender(ws_connect, ana, luis, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    await receive_until(a, "usuario_unido")
    frame = {"type": "mensaje", "mensaje": "once", "client_id": "c-123"}
    await send(a, frame)
    first = await receive(a)
    await send(a, frame)
    again = await receive(a)
    assert first["mensaje"]["client_id"] == again["mensaje"]["client_id"] == "c-123"
    assert first["mensaje"]["id"] == again["mensaje"]["id"]
    assert (await receive(b))["mensaje"]["id"] == first["mensaje"]["id"]
    assert await b.receive_nothing(timeout=0.3), "others see the message once"
    assert await sync_to_async(Message.objects.count)() == 1


async def test_resume_after_sequence_sends_only_what_was_missed(ws_connect, ana, general):
    kept, _ = await send_message(room=general, author=ana, content="seen, later edited")
    gone, _ = await send_message(room=general, author=ana, content="seen, later deleted")
    await send_message(room=general, author=ana, content="seen")
    await sync_to_async(services.message_edit)(room=general, user=ana, message_id=kept.pk, content="edited")
    await sync_to_async(services.message_delete)(room=general, user=ana, message_id=gone.pk)
    await send_message(room=general, author=ana, content="missed")
    a, *_ = await ws_connect(ana, "general-chat", query="after=3")
    history = await receive(a)
    assert [(m["contenido"], m["editado"], m["eliminado"]) for m in history["mensajes"]] == [
        ("edited", True, False),
        ("", False, True),
        ("missed", False, False),
    ]
    assert history["seq"] == 6 and history["limited"] is False


async def test_malformed_after_gets_an_error_and_the_latest_messages(ws_connect, ana, general):
    await send_message(room=general, author=ana, content="hola")
    a, *_ = await ws_connect(ana, "general-chat", query="after=-5")
    assert (await receive(a))["code"] == "invalid_after"
    assert [m["contenido"] for m in (await receive(a))["mensajes"]] == ["hola"]


async def test_out_of_order_event_is_filled_from_the_database(ws_connect, ana, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    # Two messages commit, but only the second's broadcast reaches the socket (the
    # first is late or was dropped by the layer): the socket must not skip the first.
    await sync_to_async(_store_without_broadcast)(general, ana, "first")
    await send_message(room=general, author=ana, content="second")
    frames = [await receive(a), await receive(a)]
    assert [f["mensaje"]["contenido"] for f in frames] == ["first", "second"]
    # The late broadcast of the first arrives afterwards: not shown twice.
    late = await sync_to_async(Message.objects.get)(content="first")
    payload = await sync_to_async(protocol.message_payload)(late)
    await broadcast.send_room_frame(general.group_name, protocol.message_sent(payload), seq=late.seq)
    assert await a.receive_nothing(timeout=0.3)


def _store_without_broadcast(room, author, content):
    from django.db import transaction

    from charla.chat.storage import next_seq

    with transaction.atomic():
        seq = next_seq(room.pk)
        Message.objects.create(room=room, author=author, content=content, seq=seq, updated_seq=seq)


async def test_removed_member_socket_closes_at_once(ws_connect, ana, luis, private):
    await sync_to_async(services.member_add)(room=private, actor=ana, user=luis)
    b, connected, _ = await ws_connect(luis, "secret")
    assert connected
    await connected_and_settled(b)
    await sync_to_async(services.member_remove)(room=private, actor=ana, user=luis)
    output = await b.receive_output(timeout=5)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_non_member_frames_are_refused_after_removal(ws_connect, ana, luis, private, monkeypatch):
    """Authorization holds on every frame, not only at the handshake."""
    await sync_to_async(services.member_add)(room=private, actor=ana, user=luis)
    b, *_ = await ws_connect(luis, "secret")
    await connected_and_settled(b)
    monkeypatch.setattr(broadcast, "member_removed_sync", lambda group, user_id: None)  # the notice is lost
    await sync_to_async(services.member_remove)(room=private, actor=ana, user=luis)
    await send(b, {"type": "mensaje", "mensaje": "still in?"})
    assert (await receive(b))["code"] == "forbidden"
    assert await sync_to_async(Message.objects.count)() == 0


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"type": "mensaje", "mensaje": "   ", "client_id": "k-1"}, "empty_message"),
        ({"type": "mensaje", "mensaje": "x" * 4001, "client_id": "k-1"}, "message_too_long"),
        ({"type": "mensaje", "mensaje": 7, "client_id": "k-1"}, "invalid_field"),
    ],
)
async def test_a_refused_send_names_its_client_id(ws_connect, ana, general, frame, code):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    await send(a, frame)
    error = await receive(a)
    assert (error["code"], error["client_id"]) == (code, "k-1")


async def test_a_send_refused_for_access_names_its_client_id(ws_connect, ana, luis, private, monkeypatch):
    await sync_to_async(services.member_add)(room=private, actor=ana, user=luis)
    b, *_ = await ws_connect(luis, "secret")
    await connected_and_settled(b)
    monkeypatch.setattr(broadcast, "member_removed_sync", lambda group, user_id: None)  # the notice is lost
    await sync_to_async(services.member_remove)(room=private, actor=ana, user=luis)
    await send(b, {"type": "mensaje", "mensaje": "hola", "client_id": "k-9"})
    error = await receive(b)
    assert (error["code"], error["client_id"]) == ("forbidden", "k-9")


async def test_error_language_follows_the_language_cookie(ws_connect, ana, general):
    a, *_ = await ws_connect(
        ana, "general-chat", headers=[(b"accept-language", b"en-US")], cookies={"django_language": "es"}
    )
    await connected_and_settled(a)
    await a.send_to(text_data="{oops")
    assert (await receive(a))["error"] == "JSON inválido."


async def test_typing_on_every_keystroke_is_relayed_once_and_never_answered(ws_connect, ana, luis, general):
    """The tutorial's client sends `escribiendo` per keystroke: extra frames are dropped silently."""
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    await receive_until(a, "usuario_unido")
    for _ in range(20):
        await send(a, {"type": "escribiendo"})
    await send(a, {"type": "dejar_escribir"})
    await send(a, {"type": "dejar_escribir"})
    assert await receive(b) == {"type": "escribiendo", "username": "ana"}
    assert await receive(b) == {"type": "dejar_escribir", "username": "ana"}
    assert await b.receive_nothing(timeout=0.3)
    assert await a.receive_nothing(timeout=0.1), "the typist gets no error for typing too often"


async def test_writes_over_the_rate_limit_are_refused_and_others_keep_sending(ws_connect, ana, luis, general, settings):
    settings.CHARLA_SEND_RATE = "3/10s"
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    await receive_until(a, "usuario_unido")
    for i in range(3):
        await send(a, {"type": "mensaje", "mensaje": f"ok {i}"})
        await receive_until(a, "mensaje")
    await send(a, {"type": "mensaje", "mensaje": "one too many", "client_id": "over"})
    error = await receive(a)
    assert (error["code"], error["client_id"]) == ("rate_limited", "over")
    await send(b, {"type": "mensaje", "mensaje": "luis is not limited by ana"})
    assert (await receive_until(a, "mensaje"))["mensaje"]["autor"] == "luis"
    contents = await sync_to_async(lambda: list(Message.objects.values_list("content", flat=True)))()
    assert "one too many" not in contents and len(contents) == 4


async def test_logging_out_closes_that_sessions_sockets_only(ws_connect, ana, general):
    from django.test import Client

    def logged_in_client():
        client = Client()
        client.force_login(ana)
        return client

    leaving = await sync_to_async(logged_in_client)()
    staying = await sync_to_async(logged_in_client)()
    name = settings_module.SESSION_COOKIE_NAME
    a, *_ = await ws_connect(None, "general-chat", cookies={name: leaving.cookies[name].value})
    await connected_and_settled(a)
    other, *_ = await ws_connect(None, "general-chat", cookies={name: staying.cookies[name].value})
    await connected_and_settled(other)
    await sync_to_async(leaving.post)("/accounts/logout/")
    assert await a.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await send(other, {"type": "mensaje", "mensaje": "still logged in elsewhere"})
    assert (await receive_until(other, "mensaje"))["mensaje"]["contenido"] == "still logged in elsewhere"


async def test_room_reports_how_many_are_online(ws_connect, ana, luis, general):
    a, *_ = await ws_connect(ana, "general-chat")
    await connected_and_settled(a)
    b, *_ = await ws_connect(luis, "general-chat")
    await connected_and_settled(b)
    assert await sync_to_async(general.usuarios_conectados)() == 2
    await b.disconnect()
    await receive_until(a, "usuario_salio")
    assert await sync_to_async(general.usuarios_conectados)() == 1


@pytest.mark.parametrize(
    "path",
    ["bad%20name", "%3Cscript%3E", "a" * 51, "..%2F..%2Fadmin", "ñandú", ""],
)
async def test_invalid_room_names_are_refused_at_the_handshake(ws_connect, ana, general, path):
    comm, connected, _ = await ws_connect(ana, path)
    assert await refusal_code(comm, connected) == 4404


async def test_a_malformed_resume_point_is_explained_in_the_sockets_language(ws_connect, ana, general):
    a, *_ = await ws_connect(ana, "general-chat", query="after=x", headers=[(b"accept-language", b"es")])
    error = await receive(a)
    assert error["code"] == "invalid_after"
    assert error["error"] == "Parámetro «after» no válido; se envían los mensajes más recientes."


async def test_a_sockets_send_keeps_channels_signature():
    """Code written for Channels may call send(text_data=..., close=...): text goes out, then the close."""
    from charla.chat.consumers import ChatConsumer

    sent = []

    class Outbox:
        def write(self, text, frame=None):
            sent.append(text)

        def close(self, code):
            sent.append(code)

    socket = ChatConsumer()
    socket.outbox = Outbox()
    await socket.send(text_data="hola", close=4000)
    assert sent == ["hola", 4000]
    with pytest.raises(ValueError):
        await socket.send(bytes_data=b"\x00")
