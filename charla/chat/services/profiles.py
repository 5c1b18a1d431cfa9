"""A person's own settings, and what reaches them from each of their rooms."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from charla.chat.models import Membership, Profile


def profile_update(*, user: AbstractBaseUser, language: str, theme: str, desktop_notifications: bool) -> Profile:
    """Save `user`'s settings (validated by the caller's form)."""
    profile, _ = Profile.objects.update_or_create(
        user=user,
        defaults={"language": language, "theme": theme, "desktop_notifications": desktop_notifications},
    )
    return profile


def rooms_notify_set(*, user: AbstractBaseUser, levels: dict[int, str]) -> int:
    """Set what reaches `user` from each of their rooms (room id -> Membership.Notify); returns how many changed.

    Rooms they are not a member of are ignored, as are unknown levels (the form refuses those first).
    """
    allowed = set(Membership.Notify.values)
    changed = 0
    with transaction.atomic():
        for membership in Membership.objects.filter(user=user, room_id__in=levels).select_for_update():
            level = levels[membership.room_id]
            if level in allowed and level != membership.notify:
                membership.notify = level
                membership.save(update_fields=["notify"])
                changed += 1
    return changed
