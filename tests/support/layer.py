"""Listening on the in-memory channel layer, as an open socket would."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from charla.realtime.hub import BUNDLE


def listen(group: str) -> str:
    """A new channel in `group`."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return channel


def drain(channel: str, timeout: float) -> list[dict]:
    """Every event the channel got so far, waiting `timeout` for stragglers."""
    layer = get_channel_layer()

    async def read_all():
        events = []
        while True:
            try:
                event = await asyncio.wait_for(layer.receive(channel), timeout)
                events.extend(event["messages"] if event.get("type") == BUNDLE else [event])  # as the hub unpacks them
            except TimeoutError:
                return events

    return async_to_sync(read_all)()
