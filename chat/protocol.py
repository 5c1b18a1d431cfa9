"""The WebSocket wire protocol: every frame Charla accepts or sends is parsed or built here.

Frame and key names follow the seed tutorial (`mensaje`, `historial`, `escribiendo`, ...)
so that its `websocket.js` keeps working; extensions keep the same style. The full
reference is docs/protocol.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _

from chat.validation import InvalidText, clean_message_text

if TYPE_CHECKING:
    from chat.models import Message

CLIENT_ID_MAX_LENGTH = 64


class ProtocolError(Exception):
    """A client frame that cannot be accepted; its text goes back in an `error` frame."""

    def __init__(self, message: str, code: str, client_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.client_id = client_id  # of the refused send, when it named one


# Client -> server frames.


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
    if len(text.encode("utf-8")) > settings.CHARLA_FRAME_MAX_BYTES:
        raise ProtocolError(_("Frame too large."), "frame_too_large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers past Python's digit limit.
        raise ProtocolError(_("Invalid JSON."), "invalid_json") from None
    if not isinstance(data, dict):
        raise ProtocolError(_("A frame must be a JSON object."), "invalid_frame")
    # The tutorial treats a frame without a type as a chat message.
    frame_type = data.get("type", "mensaje")
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
    if not isinstance(client_id, str) or not 0 < len(client_id) <= CLIENT_ID_MAX_LENGTH or not client_id.isprintable():
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


# Server -> client frames.


def message_payload(message: Message) -> dict[str, Any]:
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


def history(messages: list[dict], seq: int, limited: bool = False) -> dict:
    """`historial`: messages oldest first, the room's event counter, and whether some were left out."""
    return {"type": "historial", "mensajes": messages, "seq": seq, "limited": limited}


def message_sent(payload: dict) -> dict:
    return {"type": "mensaje", "mensaje": payload}


def message_edited(payload: dict, seq: int) -> dict:
    return {"type": "mensaje_editado", "mensaje": payload, "seq": seq}


def message_deleted(message_id: int, seq: int) -> dict:
    return {"type": "mensaje_eliminado", "id": message_id, "seq": seq}


def user_joined(username: str) -> dict:
    return {"type": "usuario_unido", "username": username}


def user_left(username: str) -> dict:
    return {"type": "usuario_salio", "username": username}


def online_users(usernames: list[str]) -> dict:
    """`usuarios_conectados`: who is online in the room now (sent on connect; then joins and leaves)."""
    return {"type": "usuarios_conectados", "usuarios": usernames, "total": len(usernames)}


def typing(username: str) -> dict:
    return {"type": "escribiendo", "username": username}


def stop_typing(username: str) -> dict:
    return {"type": "dejar_escribir", "username": username}


def error(message: str, code: str, client_id: str | None = None) -> dict:
    """`error`: human text in the socket's language and a stable code; a refused send names its client_id."""
    frame = {"type": "error", "error": message, "code": code}
    if client_id is not None:
        frame["client_id"] = client_id
    return frame


def mass_mention_confirm(message: str, people: int, client_id: str | None = None) -> dict:
    """`error` with code `mass_mention_confirm`: resend with `confirmar_mencion: true` to notify `miembros` people."""
    return {**error(message, "mass_mention_confirm", client_id), "miembros": people}


def encode(frame: dict) -> str:
    """Serialize a frame once, compactly, keeping non-ASCII text as it is."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


# The read cursor (chat socket, client -> server).


def parse_mark_read(data: dict) -> MarkRead:
    seq = data.get("seq")
    if type(seq) is not int or seq < 0:
        raise ProtocolError(_("Invalid sequence number."), "invalid_field")
    return MarkRead(seq=seq)


# The notifications socket (/ws/notifications/), server -> client.

PRIORITY_TO_WIRE = {"high": "alta", "normal": "normal", "low": "baja"}
PRIORITY_FROM_WIRE = {wire: stored for stored, wire in PRIORITY_TO_WIRE.items()}


def notification_payload(notification) -> dict[str, Any]:
    """A stored notification as the notifications socket and page carry it."""
    kind = notification.kind
    frame = {
        "type": "notificacion" if kind == "announcement" else "notificacion_personal",
        "id": notification.pk,
        "titulo": notification.title,
        "mensaje": notification.message,
        "creado": notification.created.isoformat(),
        "leida": notification.read_at is not None,
    }
    if kind == "announcement":
        frame["prioridad"] = PRIORITY_TO_WIRE[notification.priority]
        frame["anuncio_id"] = notification.announcement_id
    else:
        frame["url"] = notification.url or None
        frame["tipo"] = "mencion" if kind == "mention" else "personal"
    return frame


def announcement(announcement_obj) -> dict[str, Any]:
    """`notificacion`: an announcement, live, the same for everyone (each marks it read by `anuncio_id`)."""
    return {
        "type": "notificacion",
        "id": None,
        "anuncio_id": announcement_obj.pk,
        "titulo": announcement_obj.title,
        "mensaje": announcement_obj.message,
        "prioridad": PRIORITY_TO_WIRE[announcement_obj.priority],
        "creado": announcement_obj.created.isoformat(),
        "leida": False,
    }


def notification_history(notifications: list[dict], unread: int, rooms: dict[str, dict]) -> dict:
    """`historial_notificaciones`: on connect, the latest unread notifications, how many are unread,
    and each of the user's rooms' unread and mention counts (badges start right after a reconnect)."""
    return {"type": "historial_notificaciones", "notificaciones": notifications, "no_leidas": unread, "salas": rooms}


def room_counts(unread: int, mentions: int) -> dict:
    return {"no_leidos": unread, "menciones": mentions}


def room_activity(room_name: str, seq: int, author: str, mentions: list[str]) -> dict:
    """`actividad_sala`: a message arrived in one of your rooms (for unread and mention badges)."""
    return {"type": "actividad_sala", "sala": room_name, "seq": seq, "autor": author, "menciones": mentions}


def room_read(room_name: str, seq: int) -> dict:
    """`sala_leida`: you read a room up to `seq` (in another tab, perhaps)."""
    return {"type": "sala_leida", "sala": room_name, "seq": seq}


def notifications_read(ids: list[int] | None, announcement_ids: list[int] | None) -> dict:
    """`notificaciones_leidas`: these notifications and announcements (or, with nulls, all) were read."""
    return {"type": "notificaciones_leidas", "ids": ids, "anuncios": announcement_ids}
