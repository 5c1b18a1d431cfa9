"""Databases made before Charla was a package: its apps were labelled "chat" and
"notifications", so their tables were chat_room, notifications_notification, ... and
their migrations were recorded under those labels. Now the labels are "charla" and
"charla_notifications" (a host project may have apps of its own called chat).

`manage.py charla_adopt_tables` renames the tables and the records in one transaction;
until it has run, a system check stops `migrate` from creating empty tables beside the
old ones.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

# The labels of before, and what they are now.
RENAMED_LABELS = {"chat": "charla", "notifications": "charla_notifications"}
# A table only Charla's old chat app had, and the first migration recorded for it.
_SIGN_TABLE, _SIGN_COLUMN = "chat_room", "last_seq"


def _recorded(connection, label: str) -> set[str]:
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return set()
    return set(recorder.migration_qs.filter(app=label).values_list("name", flat=True))


def needs_adoption(using: str = "default") -> bool:
    """Whether this database holds Charla's tables under the old labels and not yet under the new ones."""
    connection = connections[using]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        if _SIGN_TABLE not in tables or "charla_room" in tables:
            return False
        columns = {c.name for c in connection.introspection.get_table_description(cursor, _SIGN_TABLE)}
    return (
        _SIGN_COLUMN in columns
        and "0001_initial" in _recorded(connection, "chat")
        and not _recorded(connection, "charla")
    )


def stranded(using: str = "default") -> bool:
    """Whether old tables sit beside new ones (migrate ran past the check): their rows are not adopted."""
    connection = connections[using]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    return {_SIGN_TABLE, "charla_room"} <= tables and "0001_initial" in _recorded(connection, "chat")


def _old_table(model, old_label: str) -> str:
    return f"{old_label}_{model._meta.model_name}"


def adopt(using: str = "default") -> list[tuple[str, str]]:
    """Rename the old tables and records to the new labels; returns the tables renamed."""
    if not needs_adoption(using):
        return []
    connection = connections[using]
    renamed: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    # One transaction (the schema editor's: SQLite must switch off its foreign-key checks
    # before it begins one) for the renames and the records.
    with connection.schema_editor() as editor:
        for old_label, new_label in RENAMED_LABELS.items():
            for model in apps.get_app_config(new_label).get_models():
                old, new = _old_table(model, old_label), model._meta.db_table
                if old in tables and new not in tables:
                    editor.alter_db_table(model, old, new)
                    renamed.append((old, new))
        recorder = MigrationRecorder(connection)
        for old_label, new_label in RENAMED_LABELS.items():
            recorder.migration_qs.filter(app=old_label).update(app=new_label)
            if apps.is_installed("django.contrib.contenttypes"):
                from django.contrib.contenttypes.models import ContentType

                names = [m._meta.model_name for m in apps.get_app_config(new_label).get_models()]
                ContentType.objects.using(using).filter(app_label=old_label, model__in=names).update(
                    app_label=new_label
                )
    return renamed
