from django.db import models


class Room(models.Model):
    """The host's own chat.Room (table chat_room), unrelated to Charla's."""

    building = models.CharField(max_length=50)

    def __str__(self):
        return self.building
