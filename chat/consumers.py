"""The chat WebSocket: authenticate on connect, then parse frames, call services and forward room events."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from chat import broadcast, protocol, ratelimit, services
from chat.batcher import get_batcher
from chat.hub import get_hub
from chat.outbox import Outbox
from chat.presence import get_presence
from chat.protocol import ProtocolError
from chat.services import ActionError, RoomNotFound, SendRequest
from chat.watchdog import get_watchdog

logger = logging.getLogger(__name__)

# Close codes in the 4000 range, application-defined (RFC 6455 section 7.4.2).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


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


def parse_after(scope) -> tuple[int | None, bool]:
    """The `after` query parameter (resume point) and whether it was malformed."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("after")
    if not values:
        return None, False
    value = values[-1]
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None, True
    return int(value), False


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Refuses sockets to any other path."""

    channel_layer_alias = None

    async def connect(self):
        await self.close(code=CLOSE_NOT_FOUND)


class HubConsumer(AsyncWebsocketConsumer):
    """A socket that hears its groups through the process's hub (chat.hub), not through a layer channel of its own."""

    channel_layer_alias = None  # no channel, no Redis client and no receive task per socket
    outbox: Outbox | None = None
    close_code: int | None = None  # asked to close before it was accepted
    session_id: str | None = None
    listening: list[str] = []
    _ids = itertools.count()

    async def dispatch(self, message):
        # Channels closes stale database connections here, with a thread hop for every
        # frame; database_sync_to_async already does that around each query.
        await getattr(self, get_handler_name(message))(message)

    async def __call__(self, scope, receive, send):
        # Channels' loop waits on a new task per frame (asyncio.wait over the client and the
        # layer); a socket with no layer channel only has to await the client.
        self.scope, self.base_send = scope, send
        self.channel_layer = None
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def listen(self, *groups: str) -> None:
        """Hear `groups`, and the logout of this socket's session, through the hub."""
        hub = get_hub()
        session_key = self.scope["session"].session_key
        if session_key and self.session_id is None:
            self.session_id = broadcast.session_id(session_key)
            groups = (*groups, broadcast.SESSIONS)
        for group in groups:
            await hub.subscribe(group, self)
        self.listening = [*self.listening, *groups]

    async def unlisten(self, *groups: str) -> None:
        """Stop hearing `groups` (all of them by default)."""
        hub = get_hub()
        for group in groups or self.listening:
            await hub.unsubscribe(group, self)
        self.listening = [g for g in self.listening if g not in groups] if groups else []

    async def accept(self, subprotocol=None, headers=None):
        await super().accept(subprotocol, headers)
        self.outbox = Outbox(self.base_send, max_queued_bytes=settings.CHARLA_SEND_BUFFER_BYTES)
        if self.close_code is not None:
            self.outbox.close(self.close_code)

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Frames go out in order through the outbox, which never waits for a slow reader."""
        self.write(text_data)

    def write(self, text: str, frame: bytes | None = None) -> None:
        if self.outbox is not None:  # before accept, nothing is sent: what follows (history) covers it
            self.outbox.write(text, frame)

    def close_soon(self, code: int) -> None:
        """Close from a hub event (which must not wait)."""
        if self.outbox is None:
            self.close_code = code
        else:
            self.outbox.close(code)

    def session_ended(self, event: dict) -> None:
        """A session logged out: its sockets close."""
        if event["session"] == self.session_id:
            self.close_soon(CLOSE_UNAUTHENTICATED)


class ChatConsumer(HubConsumer):
    """One browser tab in one room."""

    room = None
    typing_relayed_at = 0.0
    typing = False
    cursor = 0
    history_sent = False
    # Room events that arrived while the history or a gap was being read: handled after it.
    held: list[dict] | None = None

    async def connect(self):
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        name = self.scope["url_route"]["kwargs"]["room_name"]
        try:
            self.room = await database_sync_to_async(services.room_open)(user=self.user, name=name)
        except RoomNotFound:
            self.room = None
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.language = scope_language(self.scope)
        self.username = self.user.get_username()
        self.held = []
        await self.listen(self.room.group_name)
        self.socket_id = f"{get_hub().channel_name}#{next(self._ids)}"
        await self.accept()

        after, malformed = parse_after(self.scope)
        if malformed:
            with translation.override(self.language):
                message = _("Invalid 'after' parameter; sending the latest messages.")
            await self.send_error(message, "invalid_after")
        history = await database_sync_to_async(services.room_history)(room=self.room, after=after)
        self.write(protocol.encode(history))
        self.cursor, self.history_sent = history["seq"], True
        self.release_held()
        get_watchdog().watch(self)

        presence = get_presence()
        if await presence.join(self.room.pk, self.user.pk, self.username, self.socket_id):
            await broadcast.send_room_frame(self.room.group_name, protocol.user_joined(self.username))
        # Only this socket gets the whole list; the others keep theirs from joins and leaves
        # (a list to everyone at each arrival costs N² frames when a big room arrives at 9 a.m.).
        self.write(protocol.encode(protocol.online_users(await presence.online(self.room.pk))))

    async def disconnect(self, code):
        if self.room is None:
            return
        get_watchdog().forget(self)
        await self.unlisten()
        if await get_presence().leave(self.room.pk, self.user.pk, self.socket_id):
            await broadcast.send_room_frame(self.room.group_name, protocol.user_left(self.username))

    async def receive(self, text_data=None, bytes_data=None):
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
        """Tell the others; clients that send a frame per keystroke (the tutorial's) are
        throttled by dropping the extra frames silently: typing is best-effort."""
        now = time.monotonic()
        if typing and self.typing and now - self.typing_relayed_at < settings.CHARLA_TYPING_INTERVAL:
            return
        if not typing and not self.typing:
            return
        self.typing, self.typing_relayed_at = typing, now
        frame = protocol.typing(self.username) if typing else protocol.stop_typing(self.username)
        await broadcast.send_room_frame(self.room.group_name, frame, skip_user_id=self.user.pk)

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
                    room=self.room, seq=self.cursor, gap_start=gap_start
                )
                for frame in frames:
                    self.write(protocol.encode(frame))
        except Exception:  # the database is away: the watchdog asks again
            logger.warning("filling a gap in room %s failed", self.room.pk, exc_info=True)
            self.held = None
            return
        self.release_held()

    def room_member_removed(self, event: dict) -> None:
        """The user lost access to this room: stop receiving at once."""
        if event["user_id"] == self.user.pk:
            self.close_soon(CLOSE_FORBIDDEN)
