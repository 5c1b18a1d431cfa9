from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The host's own user model, with a field Charla knows nothing about."""

    team = models.CharField(max_length=50, blank=True)
