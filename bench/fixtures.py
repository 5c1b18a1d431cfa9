"""Bench users, sessions and rooms, made with Django in a process of its own (one per database).

Reads {"users": N, "rooms": {name: [user index, ...]}} on stdin and writes
{"cookies": [session key per user]} on stdout. A separate process because the
bench fills two databases (PostgreSQL and SQLite) and Django is set up once per process.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta


def users_with_sessions(users: int) -> tuple[list, list[str]]:
    """Create the users with one logged-in session each; returns them and their session keys.

    Also used for the tutorial's own database (bench/tutorial_app/fixtures.py).
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    User = get_user_model()  # noqa: N806
    password = make_password("bench-password")  # hashed once: hashing 10,000 times takes minutes
    names = [f"bench{i:05d}" for i in range(users)]
    User.objects.bulk_create([User(username=name, password=password) for name in names], batch_size=2000)
    by_name = {u.username: u for u in User.objects.filter(username__in=names)}
    people = [by_name[name] for name in names]

    store = SessionStore()
    expires = timezone.now() + timedelta(days=1)
    backend = "django.contrib.auth.backends.ModelBackend"
    sessions, keys = [], []
    for user in people:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": backend,
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        sessions.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        keys.append(key)
    Session.objects.bulk_create(sessions, batch_size=2000)
    return people, keys


def make(users: int, rooms: dict[str, list[int]]) -> list[str]:
    """Create the users with one logged-in session each and the public rooms; returns the session keys."""
    from charla.chat import services
    from charla.chat.models import Membership

    people, keys = users_with_sessions(users)
    for name, members in rooms.items():
        room = services.room_create(creator=people[members[0]], name=name)
        # Bulk memberships, not services.member_add: that one also stores and pushes a
        # notification per member, which would cost minutes for 10,000 members.
        Membership.objects.bulk_create(
            [Membership(room=room, user=people[i]) for i in members[1:]], batch_size=2000, ignore_conflicts=True
        )
    return keys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    spec = json.load(sys.stdin)
    keys = make(spec["users"], spec["rooms"])
    json.dump({"cookies": keys}, sys.stdout)


if __name__ == "__main__":
    main()
