from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from charla.chat import services


class Command(BaseCommand):
    help = "Create a chat room owned by an existing user."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Room name: letters, digits, hyphens and underscores.")
        parser.add_argument("--owner", required=True, help="Username of the room's owner.")
        parser.add_argument("--description", default="")
        parser.add_argument("--private", action="store_true", help="Members only, by invitation.")

    def handle(self, *args, name, owner, description, private, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: owner}).first()
        if user is None:
            raise CommandError(f"No user named {owner!r}.")
        try:
            room = services.room_create(creator=user, name=name, description=description, is_private=private)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        kind = "private" if room.is_private else "public"
        self.stdout.write(self.style.SUCCESS(f"Created {kind} room {room.name!r} owned by {owner}."))
