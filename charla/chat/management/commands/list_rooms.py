from django.core.management.base import BaseCommand
from django.db.models import Count

from charla.chat.models import Room


class Command(BaseCommand):
    help = "List the chat rooms with their members and message counts."

    def handle(self, *args, **options):
        rooms = Room.objects.select_related("creator").annotate(
            member_count=Count("memberships", distinct=True), message_count=Count("messages", distinct=True)
        )
        self.stdout.write(f"{'name':<30} {'kind':<8} {'members':>7} {'messages':>8}  owner")
        for room in rooms:
            kind = "private" if room.is_private else "public"
            owner = room.creator.get_username() if room.creator else "-"
            self.stdout.write(f"{room.name:<30} {kind:<8} {room.member_count:>7} {room.message_count:>8}  {owner}")
