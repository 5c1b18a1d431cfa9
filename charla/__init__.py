"""Charla: real-time team chat and notifications for Django (docs/embedding.md)."""

__version__ = "0.5.0"
