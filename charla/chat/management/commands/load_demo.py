import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from charla.chat import services
from charla.chat.models import Membership, Room

DEMO_USERS = ("ana", "luis")
DEMO_ROOM = "general"


class Command(BaseCommand):
    help = "Create (or refresh) two demo users with new passwords and a public room; prints the passwords."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DJANGO_DEBUG off.")

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data resets the demo users' passwords; use --force with debug off.")
        User = get_user_model()
        lines = []
        users = []
        for username in DEMO_USERS:
            user, _ = User.objects.get_or_create(**{User.USERNAME_FIELD: username})
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save()
            users.append(user)
            lines.append(f"  user {username:<6} password {password}")
        room = Room.objects.filter(name=DEMO_ROOM).first()
        if room is None:
            room = services.room_create(
                creator=users[0], name=DEMO_ROOM, description="Everyone's room / La sala de todos"
            )
        for user in users:
            Membership.objects.get_or_create(room=room, user=user)
        self.stdout.write(self.style.SUCCESS("Demo users (new passwords on every run):"))
        self.stdout.write("\n".join(lines))
        self.stdout.write(f"  room   {room.name} (public)")
