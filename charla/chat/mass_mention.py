"""Room-wide mentions (@sala, @room): a rate limit of their own, and the sender's confirmation in large rooms."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from charla.chat import protocol
from charla.chat.mentions import is_room_wide
from charla.chat.models import Membership, Message
from charla.conf import charla_settings
from charla.realtime import ratelimit


def _people_to_notify(*, room, user, client_id: str | None) -> int | None:
    """How many people a room-wide mention by `user` would notify; None for a retry of a message already stored."""
    if client_id is not None and Message.objects.filter(author=user, client_id=client_id).exists():
        return None  # its mentions went out with it: the batcher echoes the stored message
    return Membership.objects.filter(room=room, user__is_active=True).exclude(user=user).count()


async def refusal(*, room, user, frame: protocol.SendMessage) -> dict | None:
    """The `error` frame that refuses a send with a room-wide mention, or None to let it through.

    Large rooms need `confirmar_mencion: true`; then the send counts against CHARLA_MASS_MENTION_RATE.
    """
    if not is_room_wide(frame.content):
        return None
    people = await database_sync_to_async(_people_to_notify)(room=room, user=user, client_id=frame.client_id)
    if people is None:
        return None
    if people > charla_settings.MASS_MENTION_CONFIRM_OVER and not frame.confirm_mention:
        message = ngettext(
            "This will notify %(count)d person; confirm to send.",
            "This will notify %(count)d people; confirm to send.",
            people,
        ) % {"count": people}
        return protocol.mass_mention_confirm(message, people, frame.client_id)
    if not await ratelimit.allow_mass_mention(user.pk):
        message = _("Too many messages to the whole room (@room); wait a while before sending another.")
        return protocol.error(message, "mass_mention_limited", frame.client_id)
    return None
