from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """The transport. An app only for its one table: the relay between processes without Redis."""

    name = "charla.realtime"
    label = "charla_realtime"
    verbose_name = "Charla realtime"
    default_auto_field = "django.db.models.BigAutoField"
