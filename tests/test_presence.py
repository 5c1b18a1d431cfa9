"""Presence counts users, not tabs, and a crashed process's users lapse, announced once."""

import asyncio

import pytest
import pytest_asyncio

from charla.realtime.presence import LocalPresence, RedisPresence

pytestmark = pytest.mark.asyncio


async def test_local_presence_counts_users_not_tabs():
    presence = LocalPresence()
    assert await presence.join(1, 10, "ana", "tab-1") is True
    assert await presence.join(1, 10, "ana", "tab-2") is False
    assert await presence.join(1, 11, "luis", "tab-3") is True
    assert await presence.online(1) == ["ana", "luis"]
    assert await presence.leave(1, 10, "tab-1") is False
    assert await presence.leave(1, 10, "tab-2") is True
    assert await presence.leave(1, 10, "tab-2") is False, "a second leave of the same socket is no news"
    assert await presence.online(1) == ["luis"]
    assert await presence.online(2) == []


@pytest_asyncio.fixture
async def redis_presence(redis_url, settings):
    settings.CHARLA_PRESENCE_TTL = 30.0
    presence = RedisPresence(redis_url)
    await presence._redis.flushdb()
    yield presence
    await presence.close()


async def test_redis_presence_is_shared_and_counts_users_not_tabs(redis_presence, redis_url):
    other_process = RedisPresence(redis_url)
    try:
        assert await redis_presence.join(1, 10, "ana", "p1.tab") is True
        assert await other_process.join(1, 10, "ana", "p2.tab") is False
        assert await other_process.join(1, 11, "luis", "p2.other") is True
        assert await redis_presence.online(1) == ["ana", "luis"]
        assert await other_process.leave(1, 10, "p2.tab") is False
        assert await redis_presence.leave(1, 10, "p1.tab") is True
        assert await other_process.online(1) == ["luis"]
    finally:
        await other_process.close()


async def test_crashed_process_users_lapse_and_are_reported_once(redis_presence, redis_url, settings):
    settings.CHARLA_PRESENCE_TTL = 0.5
    crashed = RedisPresence(redis_url)
    await crashed.join(1, 11, "luis", "dead.socket")
    crashed._refresher.cancel()  # the process dies: nobody refreshes its sockets any more
    await redis_presence.join(1, 10, "ana", "live.socket")
    settings.CHARLA_PRESENCE_TTL = 30.0
    await redis_presence.refresh()
    await asyncio.sleep(0.7)
    assert await redis_presence.online(1) == ["ana"]
    assert await redis_presence.sweep([1, 2]) == {1: ["luis"]}
    assert await redis_presence.sweep([1, 2]) == {}, "another process sweeping later must not announce it again"
    await crashed.close()


async def test_a_lapsed_user_who_comes_back_is_a_new_join(redis_presence, redis_url, settings):
    settings.CHARLA_PRESENCE_TTL = 0.3
    crashed = RedisPresence(redis_url)
    await crashed.join(1, 10, "ana", "old")
    await crashed.close()  # its process dies
    await asyncio.sleep(0.5)
    assert await redis_presence.join(1, 10, "ana", "new") is True
