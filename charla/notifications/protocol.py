"""The notifications socket's frames (/ws/notifications/, server to client): each one's schema, and its builder.

The socket only listens, so it has no client frames; marking read goes through HTTP.
docs/protocol.md's table is checked against these schemas (tests/test_protocol_doc.py).
"""

from typing import Annotated, Any, Literal, TypedDict

from charla.chat.events import encode
from charla.chat.schema import ISO_DATETIME, registry

__all__ = [
    "NOTIFICATION_FRAMES",
    "PRIORITY_FROM_WIRE",
    "PRIORITY_TO_WIRE",
    "announcement",
    "encode",
    "notification_history",
    "notification_payload",
    "notifications_read",
    "room_activity",
    "room_counts",
    "room_read",
]

PRIORITY_TO_WIRE = {"high": "alta", "normal": "normal", "low": "baja"}
PRIORITY_FROM_WIRE = {wire: stored for stored, wire in PRIORITY_TO_WIRE.items()}

# Schemas.


class AnnouncementFrame(TypedDict):
    """`notificacion`: an announcement; live ones carry `id: null` (one frame for everyone)."""

    type: Literal["notificacion"]
    id: int | None
    anuncio_id: int
    titulo: str
    mensaje: str
    prioridad: Literal["alta", "normal", "baja"]
    creado: Annotated[str, ISO_DATETIME]
    leida: bool


class PersonalNotificationFrame(TypedDict):
    """`notificacion_personal`: a notification for this user, or a mention."""

    type: Literal["notificacion_personal"]
    id: int
    titulo: str
    mensaje: str
    url: str | None
    tipo: Literal["personal", "mencion"]
    creado: Annotated[str, ISO_DATETIME]
    leida: bool


class RoomCounts(TypedDict):
    no_leidos: int
    menciones: int


class NotificationHistoryFrame(TypedDict):
    type: Literal["historial_notificaciones"]
    notificaciones: list[AnnouncementFrame | PersonalNotificationFrame]
    no_leidas: int
    salas: dict[str, RoomCounts]


class RoomActivityFrame(TypedDict):
    type: Literal["actividad_sala"]
    sala: str
    seq: int
    autor: str
    menciones: list[str]


class RoomReadFrame(TypedDict):
    type: Literal["sala_leida"]
    sala: str
    seq: int


class NotificationsReadFrame(TypedDict):
    type: Literal["notificaciones_leidas"]
    ids: list[int] | None
    anuncios: list[int] | None


NOTIFICATION_FRAMES = registry(
    NotificationHistoryFrame,
    AnnouncementFrame,
    PersonalNotificationFrame,
    RoomActivityFrame,
    RoomReadFrame,
    NotificationsReadFrame,
)


# Builders.


def notification_payload(notification) -> AnnouncementFrame | PersonalNotificationFrame:
    """A stored notification as the notifications socket and page carry it."""
    kind = notification.kind
    frame: dict[str, Any] = {
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
    return frame  # type: ignore[return-value]


def announcement(announcement_obj) -> AnnouncementFrame:
    """`notificacion`: an announcement, live, the same for everyone (each marks it read by `anuncio_id`)."""
    return {
        "type": "notificacion",
        "id": None,
        "anuncio_id": announcement_obj.pk,
        "titulo": announcement_obj.title,
        "mensaje": announcement_obj.message,
        "prioridad": PRIORITY_TO_WIRE[announcement_obj.priority],  # type: ignore[typeddict-item]
        "creado": announcement_obj.created.isoformat(),
        "leida": False,
    }


def notification_history(notifications: list, unread: int, rooms: dict[str, RoomCounts]) -> NotificationHistoryFrame:
    """`historial_notificaciones`: on connect, the latest unread notifications, how many are unread,
    and each of the user's rooms' unread and mention counts (badges start right after a reconnect)."""
    return {"type": "historial_notificaciones", "notificaciones": notifications, "no_leidas": unread, "salas": rooms}


def room_counts(unread: int, mentions: int) -> RoomCounts:
    return {"no_leidos": unread, "menciones": mentions}


def room_activity(room_name: str, seq: int, author: str, mentions: list[str]) -> RoomActivityFrame:
    """`actividad_sala`: a message arrived in one of your rooms (for unread and mention badges)."""
    return {"type": "actividad_sala", "sala": room_name, "seq": seq, "autor": author, "menciones": mentions}


def room_read(room_name: str, seq: int) -> RoomReadFrame:
    """`sala_leida`: you read a room up to `seq` (in another tab, perhaps)."""
    return {"type": "sala_leida", "sala": room_name, "seq": seq}


def notifications_read(ids: list[int] | None, announcement_ids: list[int] | None) -> NotificationsReadFrame:
    """`notificaciones_leidas`: these notifications and announcements (or, with nulls, all) were read."""
    return {"type": "notificaciones_leidas", "ids": ids, "anuncios": announcement_ids}
