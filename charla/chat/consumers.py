"""The chat WebSocket: authenticate on connect, then parse frames, call services and forward room events."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError, InterfaceError
from django.utils import translation
from django.utils.translation import gettext as _

from charla.chat import broadcast, mass_mention, protocol, selectors, services
from charla.chat.batcher import get_batcher
from charla.chat.errors import UNAUTHENTICATED, ActionError, RoomNotFound
from charla.chat.protocol import ProtocolError
from charla.chat.storage import SendRequest
from charla.chat.stream import Page, RoomStream
from charla.chat.typing_throttle import get_typing_throttle
from charla.chat.watchdog import get_watchdog
from charla.realtime import ratelimit
from charla.realtime.hub import get_hub
from charla.realtime.presence import get_presence
from charla.realtime.sockets import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, HubConsumer

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
    stream: RoomStream | None = None

    async def connect(self):
        if not await self.admit():
            return
        name = self.scope["url_route"]["kwargs"]["room_name"]
        try:
            self.room = await read_retrying(services.room_open, user=self.user, name=name)
        except RoomNotFound:
            self.room = None
            await self.refuse(CLOSE_NOT_FOUND)
            return
        self.language = scope_language(self.scope)
        self.username = self.user.get_username()
        self.stream = RoomStream(
            write=self.write,
            read_after=self.read_after,
            close=self.close_soon,
            user_id=self.user.pk,
            room_id=self.room.pk,
        )
        await self.listen(self.room.group_name)
        self.socket_id = f"{get_hub().link.origin}#{next(self._ids)}"  # unique across processes
        await self.accept()

        after, malformed = parse_after(self.scope)
        if malformed:
            with translation.override(self.language):
                message = _("Invalid 'after' parameter; sending the latest messages.")
            self.send_error(message, "invalid_after")
        history = await read_retrying(selectors.room_history, room=self.room, after=after)
        self.write(protocol.encode(history))
        self.stream.start(history["seq"])
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
                await self.handlers[type(frame)](self, frame)
            except ProtocolError as exc:
                self.send_error(exc.message, exc.code, exc.client_id)
            except ActionError as exc:
                self.send_error(exc.message, exc.code, _client_id(frame))
                if exc.code == UNAUTHENTICATED:
                    # The change's event was lost or is on its way: the same check closes the socket.
                    await self.recheck_session()
            except Exception:  # a fault of ours or of the database: the socket stays open
                logger.exception("a %s frame failed", type(frame).__name__)
                self.send_error(_("Something went wrong on the server; try again."), "server_error", _client_id(frame))

    def send_error(self, message: str, code: str, client_id: str | None = None) -> None:
        self.write(protocol.encode(protocol.error(message, code, client_id)))

    # Client frames, by parsed class (the handlers table below): errors are raised, and receive() answers them.

    async def on_typing(self, frame: protocol.Typing | protocol.StopTyping) -> None:
        """Tell the others, throttled per user and room (charla.chat.typing_throttle): extra frames are
        dropped silently."""
        get_typing_throttle().update(
            room_id=self.room.pk,
            group=self.room.group_name,
            user_id=self.user.pk,
            username=self.username,
            typing=isinstance(frame, protocol.Typing),
        )

    async def on_mark_read(self, frame: protocol.MarkRead) -> None:
        """Move the user's read cursor (not a write others see: no rate limit)."""
        await database_sync_to_async(services.room_mark_read)(room=self.room, user=self.user, seq=frame.seq)

    async def on_send(self, frame: protocol.SendMessage) -> None:
        """Store a message (through the batcher); a retry of a stored one is answered to this socket alone."""
        await self.limit_writes()
        refusal = await mass_mention.refusal(room=self.room, user=self.user, frame=frame)
        if refusal is not None:
            self.write(protocol.encode(refusal))
            return
        result = await get_batcher().send(SendRequest(self.room, self.user, frame.content, frame.client_id))
        if isinstance(result, ActionError):
            raise result
        message, created = result
        if created:
            return  # everyone, this socket included, gets it from the room's stream
        # Only this socket needs the echo it missed. Never ahead of the socket's cursor,
        # or the client would skip the events before it.
        if message.seq > self.stream.cursor:
            self.stream.resync()
        else:
            payload = await database_sync_to_async(protocol.message_payload)(message)
            self.write(protocol.encode(protocol.message_sent(payload)))

    async def on_edit(self, frame: protocol.EditMessage) -> None:
        await self.limit_writes()
        await database_sync_to_async(services.message_edit)(
            room=self.room, user=self.user, message_id=frame.message_id, content=frame.content
        )

    async def on_delete(self, frame: protocol.DeleteMessage) -> None:
        await self.limit_writes()
        await database_sync_to_async(services.message_delete)(
            room=self.room, user=self.user, message_id=frame.message_id
        )

    async def limit_writes(self) -> None:
        """Refuse a write others see (send, edit, delete) over the user's rate."""
        if not await ratelimit.allow_write(self.user.pk):
            raise ActionError(_("You are sending too fast; wait a moment."), "rate_limited")

    handlers = {
        protocol.Typing: on_typing,
        protocol.StopTyping: on_typing,
        protocol.MarkRead: on_mark_read,
        protocol.SendMessage: on_send,
        protocol.EditMessage: on_edit,
        protocol.DeleteMessage: on_delete,
    }

    # The stream's database read, and what the watchdog asks of a socket.

    async def read_after(self, seq: int, gap_start: int) -> Page:
        """One page of the frames this socket missed after room event `seq`, encoded."""
        frames, cursor, caught_up = await database_sync_to_async(selectors.events_after)(
            room=self.room, reader=self.user, seq=seq, gap_start=gap_start
        )
        return [protocol.encode(frame) for frame in frames], cursor, caught_up

    @property
    def cursor(self) -> int:
        """The highest room event this socket has written."""
        return self.stream.cursor

    def resync(self) -> None:
        """Read what this socket missed: the watchdog saw it fall behind."""
        self.stream.resync()

    # Hub events (see charla.chat.broadcast): handled at once, never waiting.

    def room_event(self, event: dict) -> None:
        """A room frame: the stream writes it in room order, once, and never one's own typing."""
        self.stream.event(event)

    def room_member_removed(self, event: dict) -> None:
        """The user lost access to this room: stop receiving at once."""
        if event["user_id"] == self.user.pk:
            self.close_soon(CLOSE_FORBIDDEN)


def _client_id(frame: protocol.ClientFrame | None) -> str | None:
    """The client_id an error answers: a refused send names its own."""
    return frame.client_id if isinstance(frame, protocol.SendMessage) else None
