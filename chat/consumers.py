"""The chat WebSocket: authenticate on connect, then parse frames, call services and forward room events."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, InterfaceError
from django.utils import translation
from django.utils.translation import gettext as _

from chat import broadcast, mass_mention, protocol, services
from chat.batcher import get_batcher
from chat.protocol import ProtocolError
from chat.services import ActionError, RoomNotFound, SendRequest
from chat.typing_throttle import get_typing_throttle
from chat.watchdog import get_watchdog
from realtime import ratelimit
from realtime.hub import get_hub
from realtime.presence import get_presence
from realtime.sockets import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, HubConsumer

logger = logging.getLogger(__name__)


def scope_language(scope) -> str:
    """The interface language for a socket: the language cookie (the switcher), else Accept-Language."""
    chosen = scope.get("cookies", {}).get(settings.LANGUAGE_COOKIE_NAME)
    if chosen and translation.check_for_language(chosen):
        try:
            return translation.get_supported_language_variant(chosen)
        except LookupError:
            pass
    headers = dict(scope.get("headers", []))
    accept = headers.get(b"accept-language", b"").decode("latin-1")
    for lang, _q in translation.trans_real.parse_accept_lang_header(accept):
        try:
            return translation.get_supported_language_variant(lang)
        except LookupError:
            continue
    return translation.get_language() or "en"


async def read_retrying(read, **kwargs):
    """A read at connect, tried once more on a new connection if the database broke the first."""
    try:
        return await database_sync_to_async(read)(**kwargs)
    except (DatabaseError, InterfaceError):
        logger.warning("a read at connect failed; trying again", exc_info=True)
        return await database_sync_to_async(read)(**kwargs)


def parse_after(scope) -> tuple[int | None, bool]:
    """The `after` query parameter (resume point) and whether it was malformed."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after")
    if not values:
        return None, False
    value = values[-1]
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None, True
    return int(value), False


class ChatConsumer(HubConsumer):
    """One browser tab in one room."""

    room = None
    present = False  # in the room's presence (joined, and not yet left)
    cursor = 0
    history_sent = False
    # Room events that arrived while the history or a gap was being read: handled after it.
    held: list[dict] | None = None

    async def connect(self):
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not self.claim_socket_slot():
            await self.refuse_too_many_sockets()
            return
        name = self.scope["url_route"]["kwargs"]["room_name"]
        try:
            self.room = await read_retrying(services.room_open, user=self.user, name=name)
        except RoomNotFound:
            self.room = None
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.language = scope_language(self.scope)
        self.username = self.user.get_username()
        self.held = []
        await self.listen(self.room.group_name)
        self.socket_id = f"{get_hub().link.origin}#{next(self._ids)}"  # unique across processes
        await self.accept()

        after, malformed = parse_after(self.scope)
        if malformed:
            with translation.override(self.language):
                message = _("Invalid 'after' parameter; sending the latest messages.")
            await self.send_error(message, "invalid_after")
        history = await read_retrying(services.room_history, room=self.room, after=after)
        self.write(protocol.encode(history))
        self.cursor, self.history_sent = history["seq"], True
        self.release_held()
        get_watchdog().watch(self)

        presence = get_presence()
        self.present = True  # from here on, release() takes the socket out of presence
        if await presence.join(self.room.pk, self.user.pk, self.username, self.socket_id):
            await broadcast.send_room_frame(self.room.group_name, protocol.user_joined(self.username))
        # Only this socket gets the whole list; the others keep theirs from joins and leaves
        # (a list to everyone at each arrival costs N² frames when a big room arrives at 9 a.m.).
        self.write(protocol.encode(protocol.online_users(await presence.online(self.room.pk))))

    async def disconnect(self, code):
        await self.release()

    async def release(self) -> None:
        await super().release()
        get_watchdog().forget(self)
        if self.present:
            self.present = False
            if await get_presence().leave(self.room.pk, self.user.pk, self.socket_id):
                await broadcast.send_room_frame(self.room.group_name, protocol.user_left(self.username))

    async def receive(self, text_data=None, bytes_data=None):
        if self.revoked or self.room is None:
            return  # frames that crossed the close on the wire, or sent to a refused socket
        with translation.override(self.language):
            frame = None
            try:
                if text_data is None:
                    raise ProtocolError(_("Binary frames are not supported."), "binary_frame")
                frame = protocol.parse_client_frame(text_data)
                await self.handle(frame)
            except ProtocolError as exc:
                await self.send_error(exc.message, exc.code, exc.client_id)
            except ActionError as exc:
                client_id = frame.client_id if isinstance(frame, protocol.SendMessage) else None
                await self.send_error(exc.message, exc.code, client_id)
                if exc.code == services.UNAUTHENTICATED:
                    # The change's event was lost or is on its way: the same check closes the socket.
                    await self.recheck_session()
            except Exception:  # a fault of ours or of the database: the socket stays open
                logger.exception("a %s frame failed", type(frame).__name__)
                client_id = frame.client_id if isinstance(frame, protocol.SendMessage) else None
                await self.send_error(_("Something went wrong on the server; try again."), "server_error", client_id)

    async def handle(self, frame: protocol.ClientFrame) -> None:
        """Carry out one parsed client frame."""
        if isinstance(frame, protocol.Typing | protocol.StopTyping):
            await self.relay_typing(isinstance(frame, protocol.Typing))
            return
        if isinstance(frame, protocol.MarkRead):  # not a write others see: no rate limit
            await database_sync_to_async(services.room_mark_read)(room=self.room, user=self.user, seq=frame.seq)
            return
        if not await ratelimit.allow_write(self.user.pk):
            raise ActionError(_("You are sending too fast; wait a moment."), "rate_limited")
        if isinstance(frame, protocol.SendMessage):
            refusal = await mass_mention.refusal(room=self.room, user=self.user, frame=frame)
            if refusal is not None:
                self.write(protocol.encode(refusal))
                return
            result = await get_batcher().send(SendRequest(self.room, self.user, frame.content, frame.client_id))
            if isinstance(result, ActionError):
                raise result
            message, created = result
            if not created:
                # A retried send: only this socket needs the echo it missed. Never ahead of
                # the socket's cursor, or the client would skip the events before it.
                if message.seq > self.cursor:
                    self.resync()
                else:
                    payload = await database_sync_to_async(protocol.message_payload)(message)
                    self.write(protocol.encode(protocol.message_sent(payload)))
        elif isinstance(frame, protocol.EditMessage):
            await database_sync_to_async(services.message_edit)(
                room=self.room, user=self.user, message_id=frame.message_id, content=frame.content
            )
        elif isinstance(frame, protocol.DeleteMessage):
            await database_sync_to_async(services.message_delete)(
                room=self.room, user=self.user, message_id=frame.message_id
            )

    async def relay_typing(self, typing: bool) -> None:
        """Tell the others, throttled per user and room (chat.typing_throttle): extra frames are dropped silently."""
        room, user = self.room, self.user
        get_typing_throttle().update(
            room_id=room.pk, group=room.group_name, user_id=user.pk, username=self.username, typing=typing
        )

    async def send_error(self, message: str, code: str, client_id: str | None = None) -> None:
        await self.send(text_data=protocol.encode(protocol.error(message, code, client_id)))

    # Hub events (see chat.broadcast): handled at once, never waiting.

    def room_event(self, event: dict) -> None:
        """Forward a room frame: in room order, once, and never one's own typing."""
        seq = event["seq"]
        if seq is None and not self.history_sent:
            return  # typing or presence before the history: the client is not listening yet
        if seq is not None:
            if self.held is not None:
                self.held.append(event)
                return
            if seq <= self.cursor:
                return  # already sent (history, or filled in from a gap)
            if seq > self.cursor + 1:
                self.held = [event]
                asyncio.get_running_loop().create_task(self.fill_gap())
                return
            self.cursor = seq
        if event["skip_user"] is not None and event["skip_user"] == self.user.pk:
            return
        self.write(event["text"], event.get("frame"))

    def release_held(self) -> None:
        held, self.held = self.held, None
        for event in held or ():
            self.room_event(event)

    def resync(self) -> None:
        """Send what this socket missed (the watchdog saw it fall behind, or a retried send is ahead of it)."""
        if self.held is None and self.outbox is not None:
            self.held = []
            asyncio.get_running_loop().create_task(self.fill_gap())

    async def fill_gap(self) -> None:
        """Events reached this socket out of order or not at all: send what was missed from the database."""
        try:
            gap_start, caught_up = self.cursor, False
            while not caught_up:
                frames, self.cursor, caught_up = await database_sync_to_async(services.events_after)(
                    room=self.room, reader=self.user, seq=self.cursor, gap_start=gap_start
                )
                for frame in frames:
                    self.write(protocol.encode(frame))
        except ActionError:  # no longer a member, and the removal's event never came
            self.close_soon(CLOSE_FORBIDDEN)
            return
        except Exception:  # the database is away: the watchdog asks again
            logger.warning("filling a gap in room %s failed", self.room.pk, exc_info=True)
            self.held = None
            return
        self.release_held()

    def room_member_removed(self, event: dict) -> None:
        """The user lost access to this room: stop receiving at once."""
        if event["user_id"] == self.user.pk:
            self.close_soon(CLOSE_FORBIDDEN)
