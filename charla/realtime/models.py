from django.db import models


class RelayedMessage(models.Model):
    """A group message on its way to the other processes through the database (charla.realtime.relay):
    kept for a minute, read by every server process within about a second."""

    origin = models.CharField(max_length=40)
    group = models.CharField(max_length=200)
    message = models.TextField()  # JSON
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"{self.group} from {self.origin}"
