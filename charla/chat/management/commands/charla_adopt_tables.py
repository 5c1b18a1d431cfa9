from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS

from charla.chat import legacy


class Command(BaseCommand):
    help = (
        "Rename the tables and migration records of a database made before Charla was a package "
        "(chat_* and notifications_* become charla_* and charla_notifications_*). Safe to run again."
    )
    requires_system_checks = []  # the check it answers would stop it

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, database, **options):
        renamed = legacy.adopt(database)
        for old, new in renamed:
            self.stdout.write(f"{old} -> {new}")
        if renamed:
            self.stdout.write(self.style.SUCCESS(f"Adopted {len(renamed)} tables; now run migrate."))
        elif options["verbosity"] > 1:
            self.stdout.write("Nothing to adopt.")
