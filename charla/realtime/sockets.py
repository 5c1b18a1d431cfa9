"""The socket base class: it hears its groups through the process's hub, writes through its outbox, and gives back
what it took however it ends.

Why it replaces Channels' `__call__` and `dispatch` (channels 4.3.2, `channels.consumer.AsyncConsumer`):
- Channels' loop (`channels.utils.await_many_dispatch`) wraps every receive in a new task and
  waits on it with `asyncio.wait`, so that it hears the client and the consumer's layer channel
  at once; a socket here has no layer channel (the hub listens for all sockets of the
  process), so it only awaits the client.
- Channels' `dispatch` hops to a thread to close stale database connections before every
  frame (about 30 % of server time at a room of 100); `database_sync_to_async` already does
  that around each query.
- Channels' `__call__` calls no `disconnect` when `connect` fails half-way; here `release()`
  runs however the socket ends.
What an upgrade could break: a Channels that stops calling `websocket_connect`,
`websocket_receive` and `websocket_disconnect` by `get_handler_name`, that sets up in
`__call__` anything besides `scope`, `base_send` and `channel_layer` for its other methods to
use, or that changes `AsyncWebsocketConsumer.accept`/`close`; `tests/test_consumers.py` and
`tests/test_connect_cleanup.py` cover every path.
"""

from __future__ import annotations

import asyncio
import itertools
import logging

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from charla.conf import charla_settings
from charla.realtime import auth, publish, socket_limit
from charla.realtime.hub import get_hub
from charla.realtime.outbox import Outbox

logger = logging.getLogger(__name__)

# Close codes in the 4000 range are application-defined (RFC 6455 section 7.4.2).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY_SOCKETS = 4429  # the user has CHARLA_MAX_SOCKETS_PER_USER sockets open here
# The session was renewed under a new key (a password change in it): reconnect with the new cookie.
CLOSE_SESSION_RENEWED = 4001
CLOSE_TRY_AGAIN = 1013  # RFC 6455: the server could not serve the socket now; the client reconnects


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Refuses sockets to any other path (an invalid room name, a probe) with 4404, which a
    page stops retrying on (accepted only to carry the code, as HubConsumer.refuse says)."""

    channel_layer_alias = None

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)


class HubConsumer(AsyncWebsocketConsumer):
    """A socket that hears its groups through the process's hub, not through a layer channel of its own."""

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

    async def refuse(self, code: int) -> None:
        """Close with `code` (4401, 4404, 4429), before any work is done for the socket.

        Accepted only to carry the code: a handshake refused before accept reaches browsers
        and most clients as a bare 403 or 1006, with no reason, and a page could only retry
        forever where it should say "log in again" or "this room is gone"."""
        await self.accept()
        self.close_soon(code)

    async def admit(self) -> bool:
        """The checks every socket passes first: a logged-in user (else 4401), under their socket
        limit (else 4429, CHARLA_MAX_SOCKETS_PER_USER). Sets self.user; False after refusing."""
        self.user = self.scope["user"]
        if not self.user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return False
        if not self.claim_socket_slot():
            await self.refuse(CLOSE_TOO_MANY_SOCKETS)
            return False
        return True

    async def listen(self, *groups: str) -> None:
        """Hear `groups`, and the logout of this socket's session, through the hub."""
        hub = get_hub()
        session_key = self.scope["session"].session_key
        if session_key and self.session_id is None:
            self.session_id = publish.session_id(session_key)
            groups = (*groups, publish.SESSIONS)
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
        self.outbox = Outbox(self.base_send, max_queued_bytes=charla_settings.SEND_BUFFER_BYTES)
        if self.close_code is not None:
            self.outbox.close(self.close_code)

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Channels' signature, kept whole: text goes out through the outbox, in order; `close`
        (True, or a close code) closes after it; binary frames are refused (Charla sends none)."""
        if bytes_data is not None:
            raise ValueError("Charla's sockets send text frames only")
        if text_data is not None:
            self.write(text_data)
        if close:
            self.close_soon(1000 if close is True else close)

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
