"""The chat WebSocket: authenticate on connect, then parse frames, call services and forward room events."""

from __future__ import annotations

import asyncio
import itertools
import logging
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import DatabaseError, InterfaceError
from django.utils import translation
from django.utils.translation import gettext as _

from chat import auth, broadcast, mass_mention, protocol, ratelimit, services, socket_limit
from chat.batcher import get_batcher
from chat.hub import get_hub
from chat.outbox import Outbox
from chat.presence import get_presence
from chat.protocol import ProtocolError
from chat.services import ActionError, RoomNotFound, SendRequest
from chat.typing_throttle import get_typing_throttle
from chat.watchdog import get_watchdog

logger = logging.getLogger(__name__)

# Close codes in the 4000 range, application-defined (RFC 6455 section 7.4.2).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TRY_AGAIN = 1013  # RFC 6455: the server could not serve the socket now; the client reconnects
CLOSE_TOO_MANY_SOCKETS = 4429  # the user has CHARLA_MAX_SOCKETS_PER_USER sockets open here
# The session was renewed under a new key (a password change in it): reconnect with the new cookie.
CLOSE_SESSION_RENEWED = 4001


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
    revoked = False  # the session no longer authenticates the user: the socket is closing
    rechecking: asyncio.Task | None = None
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
        finally:
            await self.release()  # however the socket ended: a connect that failed half-way gets no disconnect

    async def websocket_connect(self, message):
        """Connect; a connect that fails half-way (the database or Redis away) gives back what it
        took and tells the client to try again, instead of leaving a socket that hears forever."""
        try:
            await self.connect()
        except Exception:
            logger.exception("a socket's connect failed")
            await self.release()
            if self.outbox is None:
                await self.close()  # refused at the handshake
            else:
                self.outbox.close(CLOSE_TRY_AGAIN)

    async def release(self) -> None:
        """Give back what the socket holds: its place in the user's count, its watch, its groups (safe to repeat)."""
        self.release_socket_slot()
        get_watchdog().forget(self)
        await self.unlisten()

    slot_user_id: int | None = None  # the user whose socket count this socket holds

    def claim_socket_slot(self) -> bool:
        """Count this socket against its user's limit; False when they already have as many as allowed."""
        user_id = self.scope["user"].pk
        if not socket_limit.claim(user_id):
            return False
        self.slot_user_id = user_id
        return True

    def release_socket_slot(self) -> None:
        """Give this socket's place back (once; safe to call again)."""
        if self.slot_user_id is not None:
            socket_limit.release(self.slot_user_id)
            self.slot_user_id = None

    async def refuse_too_many_sockets(self) -> None:
        """Close with CLOSE_TOO_MANY_SOCKETS, before any work is done for the socket."""
        # Accepted only to carry the code: a handshake refused before accept reaches
        # browsers and most clients as a bare 403 or 1006, with no reason.
        await self.accept()
        self.close_soon(CLOSE_TOO_MANY_SOCKETS)

    async def listen(self, *groups: str) -> None:
        """Hear `groups`, and the logout of this socket's session, through the hub."""
        hub = get_hub()
        session_key = self.scope["session"].session_key
        if session_key and self.session_id is None:
            self.session_id = broadcast.session_id(session_key)
            groups = (*groups, broadcast.SESSIONS)
        for group in groups:
            self.listening = [*self.listening, group]  # before: a subscribe that fails is still undone
            await hub.subscribe(group, self)

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
            self.revoked = True
            self.close_soon(CLOSE_UNAUTHENTICATED)

    def user_changed(self, event: dict) -> None:
        """The user's password, activity or account changed: check this socket's session again."""
        user = getattr(self, "user", None)
        if user is not None and event["user_id"] == user.pk:
            self.rechecking = asyncio.get_running_loop().create_task(self.recheck_session())  # held: not collected

    async def recheck_session(self) -> None:
        """Close unless the session still authenticates the user, as a new request with its cookie would."""
        try:
            verdict, user = await auth.recheck_session(self.scope)
        except Exception:  # the database is away: close, and let the reconnect authenticate
            logger.warning("rechecking a socket's session failed", exc_info=True)
            verdict, user = auth.SessionCheck.RENEWED, None
        if verdict is auth.SessionCheck.VALID:
            self.user = self.scope["user"] = user  # writes compare its current password hash
            return
        self.revoked = True
        self.close_soon(CLOSE_SESSION_RENEWED if verdict is auth.SessionCheck.RENEWED else CLOSE_UNAUTHENTICATED)


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
