"""Without Redis, what another process publishes (a command, a task, a second worker) reaches
the server's sockets through the database (charla.realtime.relay), within about a second."""

import asyncio
import subprocess
import sys

import pytest
from channels.db import database_sync_to_async
from playwright.sync_api import expect

from charla.realtime import relay
from charla.realtime.hub import publish_sync
from charla.realtime.models import RelayedMessage
from tests.support import servers
from tests.test_notifications_browser import open_page


@pytest.fixture
def relayed(settings):
    settings.CHARLA_DATABASE_RELAY = True


@pytest.mark.django_db(transaction=True)
def test_a_process_without_a_server_writes_what_it_publishes_for_the_servers(relayed):
    publish_sync("charla.notifications.all", {"type": "notify.announcement", "n": 1}, {"type": "notify.x", "n": 2})
    rows = list(RelayedMessage.objects.order_by("id").values_list("group", "message"))
    assert [group for group, _ in rows] == ["charla.notifications.all"] * 2
    assert '"n":1' in rows[0][1] and '"group":"charla.notifications.all"' in rows[0][1]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_server_process_delivers_what_others_relayed_once_and_not_its_own(relayed):
    heard = []
    loop = asyncio.get_running_loop()
    link = relay.RelayLink(loop, "this-process", heard.append)
    await database_sync_to_async(relay.record)("other", [("g", {"type": "before.start"})])
    link.start()
    await asyncio.sleep(relay.RELAY_POLL * 2)  # the first read only finds where "now" is
    await database_sync_to_async(relay.record)(
        "other", [("g", {"type": "a", "group": "g"}), ("g", {"type": "b", "group": "g"})]
    )
    link.send("g", {"type": "mine", "group": "g"})
    for _ in range(40):
        if len(heard) >= 2:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(relay.RELAY_POLL * 2)  # nothing more comes: no repeat, not its own
    for task in link._tasks:
        task.cancel()
    assert [m["type"] for m in heard] == ["a", "b"]
    assert await database_sync_to_async(RelayedMessage.objects.filter(origin="this-process").count)() == 1


def test_the_relay_is_on_with_the_in_process_layer_only_and_can_be_switched_off(settings):
    settings.CHARLA_DATABASE_RELAY = "auto"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert relay.in_use()
    for off in (False, "off", "false", "0"):
        settings.CHARLA_DATABASE_RELAY = off
        assert not relay.in_use()
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": ["redis://x"]}}
    }
    for setting in ("auto", True):
        settings.CHARLA_DATABASE_RELAY = setting
        assert not relay.in_use(), "beside Redis a relayed copy would arrive twice"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manage_py_announce_and_notify_reach_open_pages_of_a_server_without_redis(
    browser, charla_servers, static_root, ana, luis
):
    (server,) = charla_servers(1)  # no Redis: the in-process layer, as make run has it
    page, errors = open_page(browser, server, "luis")
    env = servers.server_env(redis_url=None, static_root=static_root)  # the test database's URL

    def manage(*args):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=servers.ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr

    manage("announce", "Maintenance tonight", "Back at 23:00 UTC", "--priority", "high")
    toast = page.locator("#toasts .toast", has_text="Maintenance tonight")
    expect(toast).to_be_visible(timeout=5_000)  # live: without a reload
    manage("notify", "luis", "Deploy done", "v2.3 is live")
    expect(page.locator("#toasts .toast", has_text="Deploy done")).to_be_visible(timeout=5_000)
    expect(page.locator("#notificaciones-contador")).to_have_text("2")
    assert errors == []
