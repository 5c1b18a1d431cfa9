"""The one error class of chat's actions: what the user may not do, worded for the user."""

from __future__ import annotations

from django.utils.translation import gettext as _

# The error code of a write refused because the user may no longer act (password changed,
# deactivated, deleted): the socket closes after it.
UNAUTHENTICATED = "unauthenticated"


class ActionError(Exception):
    """An action the user may not take, or that makes no sense; the message is for the user."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


class RoomNotFound(ActionError):
    """The room does not exist, or the user may not know that it does."""

    def __init__(self):
        super().__init__(_("Room not found."), "room_not_found")


def not_a_member() -> ActionError:
    """The refusal of an action in a room the user does not belong to."""
    return ActionError(_("You are not a member of this room."), "forbidden")


def unauthenticated() -> ActionError:
    """The refusal of a write by a user who may no longer act as they were authenticated."""
    return ActionError(_("Your session is no longer valid; log in again."), UNAUTHENTICATED)


def message_not_found() -> ActionError:
    """The refusal of an action on a message that is not (or no longer) in the room."""
    return ActionError(_("Message not found."), "message_not_found")
