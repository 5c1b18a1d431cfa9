"""A person's own settings."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from charla.chat.models import Profile


def profile_update(*, user: AbstractBaseUser, language: str, theme: str, desktop_notifications: bool) -> Profile:
    """Save `user`'s settings (validated by the caller's form)."""
    profile, _ = Profile.objects.update_or_create(
        user=user,
        defaults={"language": language, "theme": theme, "desktop_notifications": desktop_notifications},
    )
    return profile
