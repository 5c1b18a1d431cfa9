"""The chat socket's server frames: each one's schema, declared once, and the builders that make them.

Frame and key names follow the seed tutorial (`mensaje`, `historial`, `escribiendo`, ...)
so that its `websocket.js` keeps working. The schemas are the reference: docs/protocol.md's
tables are checked against them (tests/test_protocol_doc.py) and every frame the services
and sockets emit is checked against them (tests/test_events.py).
"""

import json
from typing import TYPE_CHECKING, Annotated, Literal, NotRequired, TypedDict

from charla.chat.schema import ISO_DATETIME, registry

if TYPE_CHECKING:
    from charla.chat.models import Message

# Schemas.

ErrorCode = Literal[
    "invalid_json",
    "invalid_frame",
    "unknown_type",
    "invalid_field",
    "empty_message",
    "message_too_long",
    "frame_too_large",
    "binary_frame",
    "message_not_found",
    "forbidden",
    "unauthenticated",
    "duplicate_client_id",
    "invalid_after",
    "rate_limited",
    "mass_mention_confirm",
    "mass_mention_limited",
    "store_failed",
    "server_error",
]


class MessageObject(TypedDict):
    """A message as frames carry it: the tutorial's `to_dict()` plus Charla's extensions."""

    id: int
    autor: str
    autor_id: int
    contenido: str
    enviado_en: Annotated[str, ISO_DATETIME]
    editado: bool
    editado_en: Annotated[str, ISO_DATETIME] | None
    eliminado: bool
    seq: int
    sala: str
    client_id: str | None


class HistoryFrame(TypedDict):
    type: Literal["historial"]
    mensajes: list[MessageObject]
    seq: int
    limited: bool


class MessageFrame(TypedDict):
    type: Literal["mensaje"]
    mensaje: MessageObject


class MessageEditedFrame(TypedDict):
    type: Literal["mensaje_editado"]
    mensaje: MessageObject
    seq: int


class MessageDeletedFrame(TypedDict):
    type: Literal["mensaje_eliminado"]
    id: int
    seq: int


class UserJoinedFrame(TypedDict):
    type: Literal["usuario_unido"]
    username: str


class UserLeftFrame(TypedDict):
    type: Literal["usuario_salio"]
    username: str


class OnlineUsersFrame(TypedDict):
    type: Literal["usuarios_conectados"]
    usuarios: list[str]
    total: int


class TypingFrame(TypedDict):
    type: Literal["escribiendo"]
    username: str


class StopTypingFrame(TypedDict):
    type: Literal["dejar_escribir"]
    username: str


class ErrorFrame(TypedDict):
    """A refused frame; a refused send names its `client_id`, and `mass_mention_confirm` says `miembros`."""

    type: Literal["error"]
    error: str
    code: ErrorCode
    client_id: NotRequired[str]
    miembros: NotRequired[int]


SERVER_FRAMES = registry(
    HistoryFrame,
    MessageFrame,
    MessageEditedFrame,
    MessageDeletedFrame,
    UserJoinedFrame,
    UserLeftFrame,
    OnlineUsersFrame,
    TypingFrame,
    StopTypingFrame,
    ErrorFrame,
)


# Builders.


def message_payload(message: "Message") -> MessageObject:
    """The inner message object: the tutorial's `to_dict()` plus Charla's extensions."""
    return {
        "id": message.pk,
        "autor": message.author.get_username(),
        "autor_id": message.author_id,
        "contenido": "" if message.deleted else message.content,
        "enviado_en": message.sent.isoformat(),
        "editado": message.edited,
        "editado_en": message.edited_at.isoformat() if message.edited_at else None,
        "eliminado": message.deleted,
        "seq": message.seq,
        "sala": message.room.name,
        "client_id": message.client_id,
    }


def history(messages: list[MessageObject], seq: int, limited: bool = False) -> HistoryFrame:
    """`historial`: messages oldest first, the room's event counter, and whether some were left out."""
    return {"type": "historial", "mensajes": messages, "seq": seq, "limited": limited}


def message_sent(payload: MessageObject) -> MessageFrame:
    return {"type": "mensaje", "mensaje": payload}


def message_edited(payload: MessageObject, seq: int) -> MessageEditedFrame:
    return {"type": "mensaje_editado", "mensaje": payload, "seq": seq}


def message_deleted(message_id: int, seq: int) -> MessageDeletedFrame:
    return {"type": "mensaje_eliminado", "id": message_id, "seq": seq}


def user_joined(username: str) -> UserJoinedFrame:
    return {"type": "usuario_unido", "username": username}


def user_left(username: str) -> UserLeftFrame:
    return {"type": "usuario_salio", "username": username}


def online_users(usernames: list[str]) -> OnlineUsersFrame:
    """`usuarios_conectados`: who is online in the room now (sent on connect; then joins and leaves)."""
    return {"type": "usuarios_conectados", "usuarios": usernames, "total": len(usernames)}


def typing(username: str) -> TypingFrame:
    return {"type": "escribiendo", "username": username}


def stop_typing(username: str) -> StopTypingFrame:
    return {"type": "dejar_escribir", "username": username}


def error(message: str, code: str, client_id: str | None = None) -> ErrorFrame:
    """`error`: human text in the socket's language and a stable code; a refused send names its client_id."""
    frame: ErrorFrame = {"type": "error", "error": message, "code": code}  # type: ignore[typeddict-item]
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def mass_mention_confirm(message: str, people: int, client_id: str | None = None) -> ErrorFrame:
    """`error` with code `mass_mention_confirm`: resend with `confirmar_mencion: true` to notify `miembros` people."""
    return {**error(message, "mass_mention_confirm", client_id), "miembros": people}


def encode(frame: dict) -> str:
    """Serialize a frame once, compactly, keeping non-ASCII text as it is."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
