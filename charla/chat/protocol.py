"""The chat socket's client frames: each one's schema, declared once, and the parser that accepts them.

Frame and key names follow the seed tutorial (`mensaje`, `escribiendo`, ...) so that its
`websocket.js` keeps working. A client schema lists the keys the server reads; other keys
are ignored, as old clients expect. The server frames and their builders are in
charla/chat/events.py, re-exported here for the callers that build frames through this module.
The full reference is docs/protocol.md, checked against these schemas.
"""

import json
from dataclasses import dataclass
from typing import Annotated, Literal, NotRequired, TypedDict

from django.utils.translation import gettext as _

from charla.chat.events import (
    ErrorCode,
    encode,
    error,
    history,
    mass_mention_confirm,
    message_deleted,
    message_edited,
    message_payload,
    message_sent,
    online_users,
    stop_typing,
    typing,
    user_joined,
    user_left,
)
from charla.chat.schema import NOT_NEGATIVE, POSITIVE, Check, registry
from charla.chat.validation import InvalidText, clean_message_text, is_storable_text
from charla.conf import charla_settings

__all__ = [
    "CLIENT_FRAMES",
    "ClientFrame",
    "DeleteMessage",
    "EditMessage",
    "MarkRead",
    "ProtocolError",
    "SendMessage",
    "StopTyping",
    "Typing",
    "encode",
    "error",
    "history",
    "mass_mention_confirm",
    "message_deleted",
    "message_edited",
    "message_payload",
    "message_sent",
    "online_users",
    "parse_client_frame",
    "parse_mark_read",
    "stop_typing",
    "typing",
    "user_joined",
    "user_left",
]

CLIENT_ID_MAX_LENGTH = 64


class ProtocolError(Exception):
    """A client frame that cannot be accepted; its text goes back in an `error` frame."""

    def __init__(self, message: str, code: ErrorCode, client_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.client_id = client_id  # of the refused send, when it named one


# Schemas.


def _is_client_id(value: str) -> bool:
    return 0 < len(value) <= CLIENT_ID_MAX_LENGTH and value.isprintable()


CLIENT_ID = Check(_is_client_id, "1 to 64 printable characters")
# Blank or too long text is refused too (`empty_message`, `message_too_long`): limits, not types.
MESSAGE_TEXT = Check(is_storable_text, "text a database stores (no NUL, no lone surrogate)")


class SendFrame(TypedDict):
    """`mensaje`: send a message; a frame without `type` is one, as in the tutorial."""

    type: NotRequired[Literal["mensaje"]]
    mensaje: Annotated[str, MESSAGE_TEXT]
    client_id: NotRequired[Annotated[str, CLIENT_ID] | None]
    confirmar_mencion: NotRequired[bool]


class TypingSignalFrame(TypedDict):
    type: Literal["escribiendo"]


class StopTypingSignalFrame(TypedDict):
    type: Literal["dejar_escribir"]


class EditFrame(TypedDict):
    type: Literal["editar"]
    id: Annotated[int, POSITIVE]
    mensaje: Annotated[str, MESSAGE_TEXT]


class DeleteFrame(TypedDict):
    type: Literal["eliminar"]
    id: Annotated[int, POSITIVE]


class ReadFrame(TypedDict):
    type: Literal["leido"]
    seq: Annotated[int, NOT_NEGATIVE]


CLIENT_FRAMES = registry(SendFrame, TypingSignalFrame, StopTypingSignalFrame, EditFrame, DeleteFrame, ReadFrame)
DEFAULT_CLIENT_TYPE = "mensaje"  # the tutorial's frames have no `type`


# Parsed frames.


@dataclass(frozen=True)
class SendMessage:
    content: str
    client_id: str | None = None
    confirm_mention: bool = False  # `confirmar_mencion`: the sender confirmed notifying a large room


@dataclass(frozen=True)
class EditMessage:
    message_id: int
    content: str


@dataclass(frozen=True)
class DeleteMessage:
    message_id: int


@dataclass(frozen=True)
class Typing:
    pass


@dataclass(frozen=True)
class StopTyping:
    pass


@dataclass(frozen=True)
class MarkRead:
    """`leido`: the client has shown the room up to event `seq`."""

    seq: int


ClientFrame = SendMessage | EditMessage | DeleteMessage | Typing | StopTyping | MarkRead


def parse_client_frame(text: str) -> ClientFrame:
    """Parse one text frame from a chat socket, or raise ProtocolError."""
    if len(text.encode("utf-8")) > charla_settings.FRAME_MAX_BYTES:
        raise ProtocolError(_("Frame too large."), "frame_too_large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers past Python's digit limit.
        raise ProtocolError(_("Invalid JSON."), "invalid_json") from None
    if not isinstance(data, dict):
        raise ProtocolError(_("A frame must be a JSON object."), "invalid_frame")
    frame_type = data.get("type", DEFAULT_CLIENT_TYPE)
    if frame_type == "mensaje":
        client_id = _client_id(data)
        try:
            return SendMessage(content=_content(data), client_id=client_id, confirm_mention=_confirm_mention(data))
        except ProtocolError as exc:
            exc.client_id = client_id
            raise
    if frame_type == "escribiendo":
        return Typing()
    if frame_type == "dejar_escribir":
        return StopTyping()
    if frame_type == "editar":
        return EditMessage(message_id=_message_id(data), content=_content(data))
    if frame_type == "eliminar":
        return DeleteMessage(message_id=_message_id(data))
    if frame_type == "leido":
        return parse_mark_read(data)
    raise ProtocolError(_("Unknown message type."), "unknown_type")


def _content(data: dict) -> str:
    content = data.get("mensaje")
    if not isinstance(content, str):
        raise ProtocolError(_("The message must be text."), "invalid_field")
    try:
        return clean_message_text(content)
    except InvalidText as exc:
        raise ProtocolError(exc.message, exc.code) from None


def _client_id(data: dict) -> str | None:
    client_id = data.get("client_id")
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not _is_client_id(client_id):
        raise ProtocolError(_("Invalid client_id."), "invalid_field")
    return client_id


def _confirm_mention(data: dict) -> bool:
    confirm = data.get("confirmar_mencion", False)
    if type(confirm) is not bool:
        raise ProtocolError(_("Invalid confirmar_mencion."), "invalid_field")
    return confirm


def _message_id(data: dict) -> int:
    message_id = data.get("id")
    if type(message_id) is not int or message_id <= 0:
        raise ProtocolError(_("Invalid message id."), "invalid_field")
    return message_id


def parse_mark_read(data: dict) -> MarkRead:
    seq = data.get("seq")
    if type(seq) is not int or seq < 0:
        raise ProtocolError(_("Invalid sequence number."), "invalid_field")
    return MarkRead(seq=seq)
