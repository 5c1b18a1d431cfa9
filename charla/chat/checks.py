"""System checks: an old database must be adopted before `migrate` runs (charla.chat.legacy)."""

from django.apps import apps
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connections


@register(Tags.database)
def old_tables_adopted(app_configs=None, databases=None, **kwargs):
    from charla.chat import legacy

    errors = []
    for alias in databases or ():
        try:
            waiting = legacy.needs_adoption(alias)
            beside = not waiting and legacy.stranded(alias)
        except DatabaseError:  # no database yet, or not reachable: migrate says so itself
            connections[alias].close()
            continue
        if beside:
            errors.append(
                Warning(
                    "Charla's old tables (chat_room, ...) sit beside its new ones (charla_room, ...): "
                    "their messages were not adopted.",
                    hint="Copy what they hold into the new tables, or drop them if the new ones have everything.",
                    id="charla.W001",
                )
            )
        if waiting:
            errors.append(
                Error(
                    "This database holds Charla's tables from before it was a package (chat_room, ...).",
                    hint="Run `python manage.py charla_adopt_tables` once; it renames them to charla_* and keeps "
                    "every message.",
                    id="charla.E001",
                )
            )
    return errors


@register()
def transport_installed(app_configs=None, **kwargs):
    if apps.is_installed("charla.realtime"):
        return []
    return [
        Error(
            "charla.realtime is not in INSTALLED_APPS.",
            hint='Add "charla.realtime" before "charla.chat" (docs/embedding.md).',
            id="charla.E002",
        )
    ]
