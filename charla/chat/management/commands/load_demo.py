import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from charla.chat import services
from charla.chat.models import Membership, Room

DEMO_USERS = ("ana", "luis")
DEMO_ROOM = "general"


def passwords_file() -> Path:
    """Where the demo passwords are kept between runs: beside the project, never in the repository."""
    return Path(getattr(settings, "BASE_DIR", Path.cwd())) / ".demo-passwords.json"


class Command(BaseCommand):
    help = (
        "Create two demo users and a public room once; print the demo passwords on every run "
        "(kept in .demo-passwords.json, so that open pages stay logged in across restarts)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DJANGO_DEBUG off.")
        parser.add_argument("--new-passwords", action="store_true", help="Give the demo users new passwords.")

    def handle(self, *args, force, new_passwords, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo users have known passwords; use --force with debug off.")
        User = get_user_model()
        kept = self._read_passwords()
        lines, users = [], []
        for username in DEMO_USERS:
            user, created = User.objects.get_or_create(**{User.USERNAME_FIELD: username})
            users.append(user)
            password = kept.get(username)
            if password and not created and not new_passwords and not user.check_password(password):
                # Its owner chose another password: theirs to keep.
                lines.append(f"  user {username:<6} keeps the password its owner chose")
                continue
            if password is None and not created and not new_passwords and user.has_usable_password():
                # An account of that name that load_demo did not make (or made before it kept
                # passwords): its password is its owner's, unless asked.
                lines.append(f"  user {username:<6} keeps its password (load_demo --new-passwords sets one)")
                continue
            if created or new_passwords or not password:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save()
                kept[username] = password
            lines.append(f"  user {username:<6} password {password}")
        self._write_passwords(kept)
        room = Room.objects.filter(name=DEMO_ROOM).first()
        if room is None:
            room = services.room_create(
                creator=users[0], name=DEMO_ROOM, description="Everyone's room / La sala de todos"
            )
        for user in users:
            Membership.objects.get_or_create(room=room, user=user)
        self.stdout.write(self.style.SUCCESS(f"Demo users (passwords kept in {passwords_file().name}):"))
        self.stdout.write("\n".join(lines))
        self.stdout.write(f"  room   {room.name} (public)")

    def _read_passwords(self) -> dict[str, str]:
        try:
            kept = json.loads(passwords_file().read_text())
        except (OSError, ValueError):
            return {}
        return (
            {k: v for k, v in kept.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(kept, dict)
            else {}
        )

    def _write_passwords(self, kept: dict[str, str]) -> None:
        path = passwords_file()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # only the owner reads it
        with os.fdopen(fd, "w") as out:
            json.dump(kept, out, indent=2)
