"""Notifications through the services and the Python API: who gets what, when it is sent, mentions, read state."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import transaction

from charla.chat import services as chat_services
from charla.chat.models import Membership, Room
from charla.notifications import api, protocol, services
from charla.notifications.models import Announcement, Notification
from config.accounts import SignUpForm
from tests.support.chat import read_ids, send
from tests.support.layer import drain, listen

PERSONAL_KEYS = {"type", "id", "titulo", "mensaje", "url", "tipo", "creado", "leida"}
ANNOUNCEMENT_KEYS = {"type", "id", "anuncio_id", "titulo", "mensaje", "prioridad", "creado", "leida"}


def pages_of(user) -> str:
    return listen(services.user_group(user.pk))


def received(channel: str, timeout: float = 0.02) -> list[dict]:
    """The frames the channel got so far (the in-memory layer delivers during group_send)."""
    return [json.loads(event["text"]) for event in drain(channel, timeout) if "text" in event]


def mentions_of(user) -> list[Notification]:
    return list(Notification.objects.for_user(user).filter(kind=Notification.Kind.MENTION))


# Personal notifications.


@pytest.mark.django_db
def test_personal_notification_is_stored_and_sent_to_the_users_pages_only_after_commit(
    ana, luis, django_capture_on_commit_callbacks
):
    luis_pages, ana_pages = pages_of(luis), pages_of(ana)
    with django_capture_on_commit_callbacks(execute=True):
        notification = api.notify_user(luis, "Pedido enviado", "Va de camino", url="/orders/7/")
        assert received(luis_pages) == [], "sent before the commit"
    stored = Notification.objects.get()
    assert (stored.recipient, stored.title, stored.message, stored.url) == (
        luis,
        "Pedido enviado",
        "Va de camino",
        "/orders/7/",
    )
    assert stored.read_at is None
    (frame,) = received(luis_pages)
    assert frame == {
        "type": "notificacion_personal",
        "id": notification.pk,
        "titulo": "Pedido enviado",
        "mensaje": "Va de camino",
        "url": "/orders/7/",
        "tipo": "personal",
        "creado": stored.created.isoformat(),
        "leida": False,
    }
    assert received(ana_pages) == []


@pytest.mark.django_db
def test_personal_notification_without_a_link_carries_url_null(luis, django_capture_on_commit_callbacks):
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        api.notify_user(luis, "Hola", "Sin enlace")
    (frame,) = received(pages)
    assert frame["url"] is None


@pytest.mark.django_db
def test_tutorial_helper_notifies_a_user_given_by_id(luis, django_capture_on_commit_callbacks):
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        api.notificar_usuario_especifico(luis.pk, "Título", "Mensaje", "/rooms/general/")
    stored = Notification.objects.get()
    assert stored.recipient == luis and stored.url == "/rooms/general/"
    assert [f["titulo"] for f in received(pages)] == ["Título"]


@pytest.mark.django_db
def test_notify_user_refuses_an_unknown_user_id(luis):
    with pytest.raises(type(luis).DoesNotExist):
        api.notify_user(luis.pk + 1000, "T", "M")
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_being_invited_to_a_private_room_notifies_the_invitee_with_a_link(
    ana, luis, secret, django_capture_on_commit_callbacks
):
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        chat_services.member_add(room=secret, actor=ana, user=luis)
        chat_services.member_add(room=secret, actor=ana, user=luis)
    (notification,) = Notification.objects.for_user(luis)
    assert notification.kind == "personal" and notification.url == "/rooms/secret/"
    assert "secret" in notification.title and "ana" in notification.message
    assert [(f["type"], f["url"]) for f in received(pages) if "url" in f] == [
        ("notificacion_personal", "/rooms/secret/")
    ]


# Announcements.


@pytest.mark.django_db
def test_announcement_is_stored_for_every_active_user_and_sent_once_to_everyone_after_commit(
    ana, luis, make_user, django_capture_on_commit_callbacks
):
    make_user("gone", is_active=False)
    everyone = listen(services.EVERYONE)
    with django_capture_on_commit_callbacks(execute=True):
        announcement = api.announce("Mantenimiento", "Esta noche a las 22:00", priority="high", author=ana)
        assert received(everyone) == [], "sent before the commit"
    deliveries = Notification.objects.filter(announcement=announcement)
    assert sorted(d.recipient.username for d in deliveries) == ["ana", "luis"]
    assert {(d.kind, d.title, d.priority) for d in deliveries} == {("announcement", "Mantenimiento", "high")}
    assert announcement.author == ana
    (frame,) = received(everyone)
    assert frame == {
        "type": "notificacion",
        "id": None,
        "anuncio_id": announcement.pk,
        "titulo": "Mantenimiento",
        "mensaje": "Esta noche a las 22:00",
        "prioridad": "alta",
        "creado": announcement.created.isoformat(),
        "leida": False,
    }


@pytest.mark.parametrize(("priority", "wire"), [("high", "alta"), ("normal", "normal"), ("low", "baja")])
@pytest.mark.django_db
def test_announcement_priority_travels_as_the_tutorials_word(ana, priority, wire, django_capture_on_commit_callbacks):
    everyone = listen(services.EVERYONE)
    with django_capture_on_commit_callbacks(execute=True):
        api.announce("T", "M", priority=priority)
    assert [f["prioridad"] for f in received(everyone)] == [wire]
    stored = Notification.objects.get(recipient=ana)
    assert protocol.notification_payload(stored)["prioridad"] == wire


@pytest.mark.parametrize("priority", ["alta", "urgent", "", "HIGH"])
@pytest.mark.django_db
def test_announce_with_an_unknown_priority_raises_and_stores_nothing(ana, priority):
    with pytest.raises(ValueError, match="priority"):
        api.announce("T", "M", priority=priority)
    assert not Announcement.objects.exists() and not Notification.objects.exists()


# Rolled back: nothing stored, nothing sent.


@pytest.mark.parametrize("call", ["notify_user", "announce"])
@pytest.mark.django_db(transaction=True)
def test_nothing_is_stored_or_sent_for_a_transaction_that_rolls_back(ana, luis, call):
    luis_pages, everyone = pages_of(luis), listen(services.EVERYONE)
    with pytest.raises(RuntimeError), transaction.atomic():
        if call == "notify_user":
            api.notify_user(luis, "T", "M")
        else:
            api.announce("T", "M")
        raise RuntimeError("the caller's work failed")
    assert not Notification.objects.exists() and not Announcement.objects.exists()
    assert received(luis_pages, timeout=0.1) == [] and received(everyone, timeout=0.1) == []


@pytest.mark.parametrize("call", ["notify_user", "announce"])
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_frame_waits_for_the_commit(luis, call):
    luis_pages, everyone = pages_of(luis), listen(services.EVERYONE)
    with transaction.atomic():
        if call == "notify_user":
            api.notify_user(luis, "T", "M")
        else:
            api.announce("T", "M")
        assert received(luis_pages) == [] and received(everyone) == []
    assert len(received(luis_pages) + received(everyone)) == 1
    assert Notification.objects.filter(recipient=luis).count() == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_async_api_notifies_and_announces_from_async_code(luis):
    layer = get_channel_layer()
    luis_pages, everyone = await layer.new_channel(), await layer.new_channel()
    await layer.group_add(services.user_group(luis.pk), luis_pages)
    await layer.group_add(services.EVERYONE, everyone)

    notification = await api.anotify_user(luis, "Build", "main is green", url="/ci/")
    frame = json.loads((await asyncio.wait_for(layer.receive(luis_pages), 2))["text"])
    assert frame["id"] == notification.pk and frame["titulo"] == "Build" and frame["url"] == "/ci/"

    announcement = await api.aannounce("Aviso", "Para todos", priority="low")
    frame = json.loads((await asyncio.wait_for(layer.receive(everyone), 2))["text"])
    assert frame["anuncio_id"] == announcement.pk and frame["prioridad"] == "baja"
    assert await sync_to_async(Notification.objects.filter(recipient=luis).count)() == 2


# Marking read.


@pytest.mark.django_db
def test_marking_some_read_leaves_the_others_unread_and_tells_the_users_pages_which(
    luis, django_capture_on_commit_callbacks
):
    first, second, third = (api.notify_user(luis, f"n{i}", "m") for i in range(3))
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mark_read(luis, ids=[first.pk, third.pk]) == 2
    assert services.unread_count(luis) == 1
    assert list(Notification.objects.unread().values_list("pk", flat=True)) == [second.pk]
    (frame,) = received(pages)
    assert set(frame) == {"type", "ids", "anuncios"} and frame["anuncios"] == []
    assert frame["type"] == "notificaciones_leidas" and sorted(frame["ids"]) == sorted([first.pk, third.pk])


@pytest.mark.django_db
def test_marking_everything_read_tells_the_pages_ids_null(luis, django_capture_on_commit_callbacks):
    for i in range(3):
        api.notify_user(luis, f"n{i}", "m")
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mark_read(luis) == 3
    assert services.unread_count(luis) == 0
    assert [read_ids(frame) for frame in received(pages)] == [None]


@pytest.mark.django_db
def test_announcement_is_marked_read_by_its_announcement_id(ana, luis, django_capture_on_commit_callbacks):
    announcement = api.announce("T", "M")
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mark_read(luis, announcement_ids=[announcement.pk]) == 1
    delivery = Notification.objects.get(recipient=luis)
    assert delivery.read_at is not None
    assert Notification.objects.get(recipient=ana).read_at is None, "ana's copy is hers to read"
    assert [read_ids(frame) for frame in received(pages)] == [[delivery.pk]]


@pytest.mark.django_db
def test_nobody_can_mark_another_users_notification_read(ana, luis, django_capture_on_commit_callbacks):
    hers = api.notify_user(ana, "T", "M")
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mark_read(luis, ids=[hers.pk]) == 0
    assert Notification.objects.get(pk=hers.pk).read_at is None
    assert received(pages) == []


@pytest.mark.django_db
def test_marking_read_again_changes_nothing_and_sends_nothing(luis, django_capture_on_commit_callbacks):
    notification = api.notify_user(luis, "T", "M")
    services.mark_read(luis, ids=[notification.pk])
    read_at = Notification.objects.get().read_at
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.mark_read(luis, ids=[notification.pk]) == 0
        assert services.mark_read(luis) == 0
        assert services.mark_read(luis, ids=[]) == 0
    assert Notification.objects.get().read_at == read_at
    assert received(pages) == []


# Mentions.


@pytest.mark.django_db
def test_mention_in_a_public_room_notifies_the_user_even_if_not_a_member(
    ana, luis, lobby, django_capture_on_commit_callbacks
):
    assert not Membership.objects.filter(room=lobby, user=luis).exists()
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        message = send(lobby, ana, "@luis mira esto")
    (notification,) = mentions_of(luis)
    assert notification.url == "/rooms/lobby/" and notification.room == lobby and notification.chat_message == message
    assert notification.message == "@luis mira esto"
    (frame,) = received(pages)
    assert set(frame) == PERSONAL_KEYS
    assert frame["type"] == "notificacion_personal" and frame["tipo"] == "mencion"
    assert frame["url"] == "/rooms/lobby/" and frame["id"] == notification.pk


@pytest.mark.django_db
def test_mention_in_a_private_room_notifies_members_only(ana, luis, make_user, secret):
    pepe = make_user("pepe")
    chat_services.member_add(room=secret, actor=ana, user=pepe)
    send(secret, ana, "@luis @pepe el plan")
    assert mentions_of(luis) == [], "luis cannot read the room"
    assert len(mentions_of(pepe)) == 1


@pytest.mark.django_db
def test_activity_frame_names_only_the_users_notified(ana, luis, make_user, secret, django_capture_on_commit_callbacks):
    pepe = make_user("pepe")
    chat_services.member_add(room=secret, actor=ana, user=pepe)
    room_pages = listen(services.room_group(secret.pk))
    with django_capture_on_commit_callbacks(execute=True):
        message = send(secret, ana, "@luis @pepe @nadie")
    assert received(room_pages) == [
        {"type": "actividad_sala", "sala": "secret", "seq": message.seq, "autor": "ana", "menciones": ["pepe"]}
    ]


@pytest.mark.parametrize("word", ["@sala", "@room", "@Sala", "@ROOM"])
@pytest.mark.django_db
def test_room_wide_mention_notifies_every_member_but_the_author(ana, luis, make_user, lobby, word):
    pepe, outsider = make_user("pepe"), make_user("outsider")
    for user in (luis, pepe):
        chat_services.room_open(user=user, name="lobby")
    send(lobby, ana, f"{word}: reunión en 5")
    assert len(mentions_of(luis)) == 1 and len(mentions_of(pepe)) == 1
    assert mentions_of(ana) == [], "the author is not told about their own message"
    assert mentions_of(outsider) == [], "@sala is for the room's members"


@pytest.mark.django_db
def test_room_wide_and_personal_mention_together_notify_each_person_once(ana, luis, lobby):
    chat_services.room_open(user=luis, name="lobby")
    send(lobby, ana, "@sala y sobre todo @luis, @LUIS")
    assert len(mentions_of(luis)) == 1


@pytest.mark.django_db
def test_a_retried_send_does_not_notify_twice(ana, luis, lobby, django_capture_on_commit_callbacks):
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            chat_services.message_send(room=lobby, author=ana, content="@luis hola", client_id="c-1")
    assert len(mentions_of(luis)) == 1
    assert [frame["tipo"] for frame in received(pages)] == ["mencion"]


@pytest.mark.django_db
def test_mentioning_oneself_notifies_nobody(ana, lobby):
    send(lobby, ana, "nota para mí, @ana")
    assert not Notification.objects.exists()


@pytest.mark.parametrize("text", ["@LUIS hola", "hola @Luis.", "¿vienes, @luis?", "(@luis)", "cc:@luis"])
@pytest.mark.django_db
def test_mention_is_found_in_running_text_whatever_the_case(ana, luis, lobby, text):
    send(lobby, ana, text)
    assert len(mentions_of(luis)) == 1


@pytest.mark.parametrize("text", ["escribe a luis@example.com", "ana@luis", "luis sin arroba", "@luisa"])
@pytest.mark.django_db
def test_an_email_address_or_another_name_is_not_a_mention(ana, luis, lobby, text):
    send(lobby, ana, text)
    assert mentions_of(luis) == []


@pytest.mark.django_db
def test_a_deactivated_user_is_not_notified_of_a_mention(ana, make_user, lobby):
    make_user("pepe", is_active=False)
    send(lobby, ana, "@pepe?")
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_mention_of_a_long_message_carries_a_short_preview(ana, luis, lobby):
    send(lobby, ana, "@luis " + "x" * 500)
    (notification,) = mentions_of(luis)
    assert len(notification.message) == 200 and notification.message.endswith("…")


@pytest.mark.parametrize("name", ["sala", "room", "Room", "SALA"])
@pytest.mark.django_db
def test_room_wide_mention_names_cannot_be_taken_as_usernames(django_user_model, name):
    form = SignUpForm(data={"username": name, "password1": "x-Long-pass-93", "password2": "x-Long-pass-93"})
    assert not form.is_valid() and "username" in form.errors
    with pytest.raises(ValidationError):
        django_user_model.objects.create_user(username=name, password="x")
    assert not django_user_model.objects.filter(username__iexact=name).exists()


@pytest.mark.django_db
def test_an_existing_user_cannot_be_renamed_to_a_room_wide_mention_name(luis):
    luis.username = "sala"
    with pytest.raises(ValidationError):
        luis.save()
    luis.refresh_from_db()
    assert luis.username == "luis"


# Unread and mention counts, and the read cursor.


def counts(user, room) -> tuple[int, int]:
    annotated = Room.objects.with_unread(user).get(pk=room.pk)
    return annotated.unread, annotated.mentions


@pytest.mark.django_db
def test_unread_counts_others_messages_after_the_cursor_and_not_ones_own_or_deleted(ana, luis, lobby):
    chat_services.room_open(user=luis, name="lobby")
    send(lobby, ana, "uno")
    send(lobby, luis, "mío")
    deleted = send(lobby, ana, "dos")
    send(lobby, ana, "tres")
    assert counts(luis, lobby) == (3, 0)
    chat_services.message_delete(room=lobby, user=ana, message_id=deleted.pk)
    assert counts(luis, lobby) == (2, 0)
    assert counts(ana, lobby) == (1, 0), "ana has not read luis's message"


@pytest.mark.django_db
def test_mentions_count_the_unread_mentions_in_each_room(ana, luis, lobby, secret):
    chat_services.room_open(user=luis, name="lobby")
    chat_services.member_add(room=secret, actor=ana, user=luis)
    send(lobby, ana, "@luis uno")
    send(lobby, ana, "sin mención")
    send(lobby, ana, "@luis dos")
    send(secret, ana, "@sala")
    api.notify_user(luis, "personal", "not a mention")
    assert counts(luis, lobby) == (3, 2)
    assert counts(luis, secret) == (1, 1)


@pytest.mark.django_db
def test_reading_a_room_resets_its_counts_and_no_others(ana, luis, lobby, secret):
    chat_services.room_open(user=luis, name="lobby")
    chat_services.member_add(room=secret, actor=ana, user=luis)
    send(lobby, ana, "@luis uno")
    send(secret, ana, "@luis dos")
    assert chat_services.room_mark_read(room=lobby, user=luis) == 0
    assert counts(luis, lobby) == (0, 0)
    assert counts(luis, secret) == (1, 1)
    send(lobby, ana, "tres")
    assert counts(luis, lobby) == (1, 0)


@pytest.mark.django_db
def test_read_cursor_moves_forward_only_and_never_past_the_rooms_last_event(
    ana, luis, lobby, django_capture_on_commit_callbacks
):
    chat_services.room_open(user=luis, name="lobby")
    for i in range(4):
        send(lobby, ana, f"m{i}")
    pages = pages_of(luis)

    def cursor() -> int:
        return Membership.objects.get(room=lobby, user=luis).last_read_seq

    with django_capture_on_commit_callbacks(execute=True):
        assert chat_services.room_mark_read(room=lobby, user=luis, seq=3) == 0
    assert cursor() == 3 and counts(luis, lobby) == (1, 0)
    assert received(pages) == [{"type": "sala_leida", "sala": "lobby", "seq": 3}]

    with django_capture_on_commit_callbacks(execute=True):
        assert chat_services.room_mark_read(room=lobby, user=luis, seq=1) == 3
    assert cursor() == 3, "never backward"
    assert received(pages) == [], "nothing changed, nothing to tell"

    with django_capture_on_commit_callbacks(execute=True):
        chat_services.room_mark_read(room=lobby, user=luis, seq=99)
    assert cursor() == 4, "never past the room's last event"
    assert received(pages) == [{"type": "sala_leida", "sala": "lobby", "seq": 4}]


@pytest.mark.django_db
def test_reading_up_to_an_event_marks_the_mentions_up_to_there_read(
    ana, luis, lobby, django_capture_on_commit_callbacks
):
    chat_services.room_open(user=luis, name="lobby")
    early = send(lobby, ana, "@luis antes")
    send(lobby, ana, "nada")
    send(lobby, ana, "@luis después")
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        chat_services.room_mark_read(room=lobby, user=luis, seq=2)
    read = Notification.objects.get(chat_message=early)
    assert read.read_at is not None
    assert counts(luis, lobby) == (1, 1)
    told_read, told_room = received(pages)
    assert read_ids(told_read) == [read.pk]
    assert told_room == {"type": "sala_leida", "sala": "lobby", "seq": 2}


@pytest.mark.django_db
def test_reading_a_room_one_is_not_a_member_of_changes_nothing(ana, luis, lobby):
    send(lobby, ana, "@luis hola")
    assert chat_services.room_mark_read(room=lobby, user=luis) == 0
    assert not Membership.objects.filter(room=lobby, user=luis).exists()
    assert Notification.objects.get().read_at is None


@pytest.mark.django_db
def test_deleting_a_message_withdraws_its_mentions_and_tells_the_pages(
    ana, luis, lobby, django_capture_on_commit_callbacks
):
    chat_services.room_open(user=luis, name="lobby")
    with django_capture_on_commit_callbacks(execute=True):
        message = send(lobby, ana, "@luis the password is hunter2")
    (mention,) = mentions_of(luis)
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        chat_services.message_delete(room=lobby, user=ana, message_id=message.pk)
    assert mentions_of(luis) == [], "the deleted text must not linger in his list"
    assert Room.objects.with_unread(luis).get(pk=lobby.pk).mentions == 0
    assert [read_ids(frame) for frame in received(pages) if frame["type"] == "notificaciones_leidas"] == [[mention.pk]]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "//evil.example/", "ftp://x/"])
def test_a_notification_link_must_be_a_path_or_http(luis, url):
    with pytest.raises(ValueError):
        services.notify_user(luis, "t", "m", url=url)
    assert not Notification.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/rooms/general/", "https://example.com/x", "http://intranet/y", None])
def test_a_path_or_http_link_is_kept(luis, url):
    assert services.notify_user(luis, "t", "m", url=url).url == (url or "")


@pytest.mark.django_db
@pytest.mark.parametrize("level, live", [("all", True), ("mentions", True), ("nothing", False)])
def test_a_mention_in_a_muted_room_waits_in_the_list_already_read_and_interrupts_nobody(
    ana, luis, lobby, level, live, django_capture_on_commit_callbacks
):
    chat_services.room_open(user=luis, name="lobby")
    chat_services.rooms_notify_set(user=luis, levels={lobby.pk: level})
    pages = pages_of(luis)
    with django_capture_on_commit_callbacks(execute=True):
        send(lobby, ana, "@luis a question")
    (notification,) = mentions_of(luis)
    assert (notification.read_at is None) is live
    personal = [f for f in received(pages) if f["type"] == "notificacion_personal"]
    assert len(personal) == (1 if live else 0), "a muted room sends no toast, no desktop notification"
    assert services.unread_count(luis) == (1 if live else 0)
