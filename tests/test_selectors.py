"""Reads through charla.chat.selectors: history on connect and resume, gap filling, scroll-back."""

import pytest

from charla.chat import protocol, selectors, services
from charla.chat.errors import ActionError
from charla.chat.models import Message
from tests.support.chat import last_seq, send

# History on connect and resume.


def contents(history: dict) -> list[str]:
    return [m["contenido"] for m in history["mensajes"]]


@pytest.mark.django_db
def test_history_is_the_latest_visible_messages_oldest_first(ana, lobby, settings):
    settings.CHARLA_HISTORY_SIZE = 3
    sent = [send(lobby, ana, f"m{i}") for i in range(1, 6)]
    services.message_delete(room=lobby, user=ana, message_id=sent[-1].pk)
    history = selectors.room_history(room=lobby)
    assert history["type"] == "historial"
    assert contents(history) == ["m2", "m3", "m4"]
    assert history["seq"] == last_seq(lobby) == 6
    assert history["limited"] is False


@pytest.mark.django_db
def test_history_of_an_empty_room_is_empty_at_event_zero(lobby):
    assert selectors.room_history(room=lobby) == protocol.history([], 0, limited=False)


@pytest.mark.django_db
def test_resume_sends_only_what_changed_including_tombstones(ana, lobby):
    m1, m2, _m3 = (send(lobby, ana, text) for text in ("one", "two", "three"))
    services.message_edit(room=lobby, user=ana, message_id=m1.pk, content="uno")
    services.message_delete(room=lobby, user=ana, message_id=m2.pk)
    m4 = send(lobby, ana, "four")
    history = selectors.room_history(room=lobby, after=3)
    assert [(m["id"], m["contenido"], m["editado"], m["eliminado"]) for m in history["mensajes"]] == [
        (m1.pk, "uno", True, False),
        (m2.pk, "", False, True),
        (m4.pk, "four", False, False),
    ]
    assert history["seq"] == last_seq(lobby) == 6
    assert history["limited"] is False


@pytest.mark.django_db
def test_resume_when_up_to_date_sends_nothing(ana, lobby):
    send(lobby, ana, "hola")
    assert selectors.room_history(room=lobby, after=1) == protocol.history([], 1, limited=False)


@pytest.mark.django_db
def test_resume_ahead_of_the_room_sends_the_latest_and_says_limited(ana, lobby):
    for text in ("a", "b"):
        send(lobby, ana, text)
    history = selectors.room_history(room=lobby, after=10**9)
    assert contents(history) == ["a", "b"]
    assert history["limited"] is True
    assert history["seq"] == last_seq(lobby) == 2


@pytest.mark.django_db
def test_resume_with_too_much_missed_sends_the_latest_and_says_limited(ana, lobby, settings):
    settings.CHARLA_RESUME_MAX = 3
    settings.CHARLA_HISTORY_SIZE = 2
    for i in range(1, 6):
        send(lobby, ana, f"m{i}")
    history = selectors.room_history(room=lobby, after=1)
    assert contents(history) == ["m4", "m5"]
    assert history["limited"] is True
    assert history["seq"] == last_seq(lobby) == 5
    within = selectors.room_history(room=lobby, after=2)
    assert contents(within) == ["m3", "m4", "m5"] and within["limited"] is False


# Filling a gap in the live stream.


@pytest.mark.django_db
def test_gap_is_filled_with_the_current_state_of_each_changed_message(ana, lobby):
    m1, m2, _m3 = (send(lobby, ana, text) for text in ("one", "two", "three"))
    cursor = last_seq(lobby)
    services.message_edit(room=lobby, user=ana, message_id=m1.pk, content="uno")  # 4
    services.message_delete(room=lobby, user=ana, message_id=m2.pk)  # 5
    m4 = send(lobby, ana, "four")  # 6
    m5 = send(lobby, ana, "five")  # 7
    services.message_delete(room=lobby, user=ana, message_id=m5.pk)  # 8
    m6 = send(lobby, ana, "six")  # 9

    missed, new_cursor, caught_up = selectors.events_after(room=lobby, reader=ana, seq=cursor)

    stored = {m.pk: m for m in Message.objects.select_related("author", "room")}
    assert missed == [
        protocol.message_edited(protocol.message_payload(stored[m1.pk]), 4),
        protocol.message_deleted(m2.pk, 5),
        protocol.message_sent(protocol.message_payload(stored[m4.pk])),
        protocol.message_sent(protocol.message_payload(stored[m6.pk])),
    ]
    assert missed[0]["mensaje"]["contenido"] == "uno"
    assert new_cursor == last_seq(lobby) == 9 and caught_up


@pytest.mark.django_db
def test_no_gap_means_no_frames_and_the_same_cursor(ana, lobby):
    send(lobby, ana, "hola")
    assert selectors.events_after(room=lobby, reader=ana, seq=1) == ([], 1, True)


@pytest.mark.django_db
def test_filling_a_large_gap_in_pages_never_skips_a_message(ana, lobby, settings):
    settings.CHARLA_RESUME_MAX = 2
    m1 = send(lobby, ana, "one")  # 1
    send(lobby, ana, "two")  # 2
    m3 = send(lobby, ana, "three")  # 3
    services.message_edit(room=lobby, user=ana, message_id=m1.pk, content="uno")  # 4
    delivered, cursor, caught_up, pages = [], 0, False, 0
    while not caught_up and pages < 10:
        missed, cursor, caught_up = selectors.events_after(room=lobby, reader=ana, seq=cursor, gap_start=0)
        delivered += [frame["mensaje"]["id"] for frame in missed if frame["type"] == "mensaje"]
        pages += 1
    assert sorted(delivered) == sorted(m.pk for m in Message.objects.all())
    assert m3.pk in delivered and cursor == last_seq(lobby)


# Scroll-back.


@pytest.mark.django_db
def test_scroll_back_pages_by_message_id_oldest_first(ana, lobby):
    sent = [send(lobby, ana, f"m{i}") for i in range(1, 6)]

    def page(before_id):
        messages, more = selectors.messages_before(room=lobby, before_id=before_id, limit=2)
        return [m.content for m in messages], more

    assert page(None) == (["m4", "m5"], True)
    assert page(sent[3].pk) == (["m2", "m3"], True)
    assert page(sent[1].pk) == (["m1"], False)
    assert page(sent[0].pk) == ([], False)


@pytest.mark.django_db
def test_scroll_back_skips_deleted_messages(ana, lobby):
    sent = [send(lobby, ana, f"m{i}") for i in range(1, 5)]
    services.message_delete(room=lobby, user=ana, message_id=sent[1].pk)
    messages, more = selectors.messages_before(room=lobby, before_id=sent[3].pk, limit=5)
    assert [m.content for m in messages] == ["m1", "m3"]
    assert more is False


@pytest.mark.django_db
def test_scroll_back_from_an_unknown_or_foreign_message_is_an_error(ana, lobby, secret):
    send(lobby, ana, "here")
    elsewhere = send(secret, ana, "elsewhere")
    for before_id in (elsewhere.pk, elsewhere.pk + 1000):
        with pytest.raises(ActionError) as excinfo:
            selectors.messages_before(room=lobby, before_id=before_id, limit=10)
        assert excinfo.value.code == "message_not_found"


@pytest.mark.django_db
def test_a_gap_is_not_filled_for_a_reader_who_lost_access_while_the_event_saying_so_was_lost(ana, luis):
    secret = services.room_create(creator=ana, name="secret", is_private=True)
    services.member_add(room=secret, actor=ana, user=luis)
    services.member_remove(room=secret, actor=ana, user=luis)
    send(secret, ana, "after luis left")
    with pytest.raises(ActionError) as refused:
        selectors.events_after(room=secret, reader=luis, seq=0)
    assert refused.value.code == "forbidden"
    luis.is_active = False
    luis.save()
    lobby = services.room_create(creator=ana, name="open-room")
    services.room_open(user=luis, name="open-room")
    with pytest.raises(ActionError):
        selectors.events_after(room=lobby, reader=luis, seq=0)
