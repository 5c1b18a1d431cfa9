"""The notifications WebSocket (/ws/notifications/): personal notifications, announcements, room activity."""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async

from charla.chat.models import Membership, Room
from charla.chat.watchdog import get_watchdog
from charla.notifications import protocol, services
from charla.notifications.models import Notification
from charla.realtime.sockets import HubConsumer

HISTORY_SIZE = 50


class NotificationsConsumer(HubConsumer):
    """One page's feed of what concerns its user; it sends nothing but history and live frames."""

    user = None
    rooms: set[int] = frozenset()

    async def connect(self):
        if not await self.admit():
            return
        self.user_group = services.user_group(self.user.pk)
        await self.listen(self.user_group, services.EVERYONE)
        await self.watch_rooms()
        await self.accept()
        self.write(protocol.encode(await database_sync_to_async(self.history)()))
        get_watchdog().keep_groups(self)

    def history(self) -> dict:
        """What the user missed while offline: the latest unread notifications and the unread count."""
        unread = Notification.objects.for_user(self.user).unread()
        latest = [protocol.notification_payload(n) for n in unread[:HISTORY_SIZE]]
        rooms = {
            room.name: protocol.room_counts(room.unread, room.mentions)
            for room in Room.objects.joined_by(self.user).with_unread(self.user)
        }
        return protocol.notification_history(latest, unread.count(), rooms)

    async def watch_rooms(self) -> None:
        """Follow the activity of exactly the rooms the user is a member of."""
        rooms = set(
            await database_sync_to_async(
                lambda: list(Membership.objects.filter(user=self.user).values_list("room_id", flat=True))
            )()
        )
        await self.listen(*(services.room_group(r) for r in rooms - self.rooms))
        if self.rooms - rooms:
            await self.unlisten(*(services.room_group(r) for r in self.rooms - rooms))
        self.rooms = rooms

    async def disconnect(self, code):
        await self.release()

    async def release(self) -> None:
        await super().release()
        get_watchdog().forget(self)

    async def receive(self, text_data=None, bytes_data=None):
        """This socket only listens; marking read goes through HTTP (with CSRF)."""

    # Hub events (see charla.notifications.services): handled at once, never waiting.

    def notify_frame(self, event):
        self.write(event["text"], event.get("frame"))

    def notify_announcement(self, event):
        """Announcements go to everyone once; users who joined after it was sent are not its recipients."""
        joined = getattr(self.user, "date_joined", None)
        if joined is not None and joined.timestamp() > event["sent"]:
            return
        self.write(event["text"], event.get("frame"))

    def notify_rooms_changed(self, event):
        asyncio.get_running_loop().create_task(self.watch_rooms())
