"""Group commit: sends that arrive while a batch is written share the next transaction."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async

from charla.chat import services
from charla.chat.batcher import SendBatcher
from charla.chat.errors import ActionError
from charla.chat.models import Message
from charla.chat.services import messages as message_services
from charla.chat.storage import SendRequest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.asyncio
async def test_sends_during_a_slow_commit_share_the_next_one_and_each_gets_its_own_result(ana, luis, monkeypatch):
    room = await database_sync_to_async(services.room_create)(creator=ana, name="busy")
    batches = []
    store = services.messages_send

    def slow_store(requests):
        batches.append(len(requests))
        time.sleep(0.2)  # a slow flush: the others arrive meanwhile
        return store(requests)

    monkeypatch.setattr(services, "messages_send", slow_store)
    batcher = SendBatcher()
    first = asyncio.ensure_future(batcher.send(SendRequest(room, ana, "first")))
    await asyncio.sleep(0.05)
    rest = [batcher.send(SendRequest(room, ana, f"m{i}")) for i in range(8)]
    refused = batcher.send(SendRequest(room, luis, "not a member"))
    results = await asyncio.gather(first, *rest, refused)
    assert batches == [1, 9], "the nine that waited went together"
    assert [m.content for m, created in results[:-1]] == ["first", *(f"m{i}" for i in range(8))]
    assert [m.seq for m, _ in results[:-1]] == list(range(1, 10))
    assert isinstance(results[-1], ActionError) and results[-1].code == "forbidden"
    assert await database_sync_to_async(Message.objects.count)() == 9


@pytest.mark.asyncio
async def test_a_failed_batch_fails_its_sends_and_the_next_batch_is_written(ana, monkeypatch):
    room = await database_sync_to_async(services.room_create)(creator=ana, name="flaky")
    store, calls = services.messages_send, []

    def failing_once(requests):
        calls.append(len(requests))
        if len(calls) == 1:
            raise ConnectionError("the database went away")
        return store(requests)

    monkeypatch.setattr(services, "messages_send", failing_once)
    batcher = SendBatcher()
    with pytest.raises(ConnectionError):
        await batcher.send(SendRequest(room, ana, "lost with its batch"))
    (message, created) = await batcher.send(SendRequest(room, ana, "stored"))
    assert created and message.content == "stored" and message.seq == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_over_the_same_rooms_in_opposite_orders_neither_deadlock_nor_skip_a_number(ana):
    """Two processes' batches often cover the same rooms: each must lock them in one order."""
    import threading

    from django.db import connection

    rooms = [services.room_create(creator=ana, name=f"shared-{i}") for i in range(4)]
    errors, rounds = [], 30

    def writer(order):
        try:
            for n in range(rounds):
                results = services.messages_send([SendRequest(room, ana, f"{n}") for room in order])
                assert not any(isinstance(r, ActionError) for r in results)
        except Exception as exc:  # a deadlock is an OperationalError here
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(order,)) for order in (rooms, rooms[::-1], rooms[1:] + rooms[:1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for room in rooms:
        seqs = list(Message.objects.filter(room=room).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, 3 * rounds + 1))


@pytest.mark.asyncio
async def test_a_batch_the_database_breaks_is_tried_again_for_sends_that_can_never_be_stored_twice(ana, monkeypatch):
    from django.db import OperationalError

    from charla.chat import batcher as batcher_module

    room = await database_sync_to_async(services.room_create)(creator=ana, name="blip")
    monkeypatch.setattr(batcher_module, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    store, calls = services.messages_send, []

    def broken_once(requests):
        calls.append([r.content for r in requests])
        if len(calls) == 1:
            raise OperationalError("terminating connection due to administrator command")
        return store(requests)

    monkeypatch.setattr(services, "messages_send", broken_once)
    batcher = SendBatcher()
    with_id = batcher.send(SendRequest(room, ana, "retried", client_id="c-1"))
    without_id = batcher.send(SendRequest(room, ana, "maybe stored already"))
    (message, created), refused = await asyncio.gather(with_id, without_id)
    assert calls == [["retried", "maybe stored already"], ["retried"]]
    assert created and message.content == "retried"
    assert isinstance(refused, ActionError) and refused.code == "store_failed", "told to send it again"
    assert await database_sync_to_async(Message.objects.count)() == 1


@pytest.mark.asyncio
async def test_a_database_that_stays_away_gets_every_send_an_error_not_an_exception(ana, monkeypatch):
    from django.db import InterfaceError

    from charla.chat import batcher as batcher_module

    room = await database_sync_to_async(services.room_create)(creator=ana, name="down")
    monkeypatch.setattr(batcher_module, "RETRY_DELAYS", (0.01, 0.01))

    def down(requests):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(services, "messages_send", down)
    result = await SendBatcher().send(SendRequest(room, ana, "hello", client_id="c-2"))
    assert isinstance(result, ActionError) and result.code == "store_failed"


@pytest.mark.asyncio
async def test_sends_a_broken_try_committed_unseen_are_announced_when_the_retry_finds_them(
    ana, luis, ws_connect, monkeypatch
):
    from django.db import OperationalError

    from charla.chat import batcher as batcher_module
    from tests.support.ws import connected_and_settled, receive_until

    room = await database_sync_to_async(services.room_create)(creator=ana, name="unseen")
    await database_sync_to_async(services.room_open)(user=luis, name="unseen")
    reader, *_ = await ws_connect(luis, "unseen")
    await connected_and_settled(reader)
    monkeypatch.setattr(batcher_module, "RETRY_DELAYS", (0.01,))
    store, announce, calls = services.messages_send, message_services._announce, []

    def committed_then_broken(requests):
        calls.append(len(requests))
        if len(calls) > 1:
            return store(requests)
        monkeypatch.setattr(message_services, "_announce", lambda messages: None)
        try:
            store(requests)  # committed, but the reply (and so the announcement) never came
        finally:
            monkeypatch.setattr(message_services, "_announce", announce)
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "messages_send", committed_then_broken)
    message, created = await SendBatcher().send(SendRequest(room, ana, "committed unseen", client_id="u-1"))
    assert (message.content, created) == ("committed unseen", False) and calls == [1, 1]
    heard = await receive_until(reader, "mensaje")
    assert heard["mensaje"]["contenido"] == "committed unseen", "the room hears it after all"
