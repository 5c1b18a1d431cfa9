from django.core.management.base import BaseCommand

from charla.notifications.api import announce


class Command(BaseCommand):
    help = "Announce to every user: announce '<title>' '<message>' [--priority high|normal|low]."

    def add_arguments(self, parser):
        parser.add_argument("title")
        parser.add_argument("message")
        parser.add_argument("--priority", choices=["high", "normal", "low"], default="normal")

    def handle(self, *args, title, message, priority, **options):
        announcement = announce(title, message, priority=priority)
        count = announcement.deliveries.count()
        self.stdout.write(self.style.SUCCESS(f"Announced {title!r} to {count} users."))
