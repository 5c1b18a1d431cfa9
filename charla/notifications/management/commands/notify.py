from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from charla.notifications.api import notify_user


class Command(BaseCommand):
    help = "Notify one user: notify <username> '<title>' '<message>' [--url URL]."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("title")
        parser.add_argument("message")
        parser.add_argument("--url", default=None)

    def handle(self, *args, username, title, message, url, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        notify_user(user, title, message, url=url)
        self.stdout.write(self.style.SUCCESS(f"Notified {username}."))
