"""A database made before Charla was a package (apps labelled chat and notifications) is
adopted by `manage.py charla_adopt_tables` with every message kept, and `migrate` refuses
to run on it before that, instead of creating empty tables beside the old ones."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from tests.conftest import is_postgres

ROOT = Path(__file__).resolve().parent.parent
OLD_TABLES = {
    "charla_room": "chat_room",
    "charla_membership": "chat_membership",
    "charla_message": "chat_message",
    "charla_notifications_announcement": "notifications_announcement",
    "charla_notifications_notification": "notifications_notification",
}
# How the database looked before: the same tables and records under the old labels.
MAKE_OLD = "\n".join(
    [
        "from django.db import connection",
        "with connection.cursor() as c:",
        *[f"    c.execute('ALTER TABLE {new} RENAME TO {old}')" for new, old in OLD_TABLES.items()],
        "    c.execute(\"UPDATE django_migrations SET app = 'chat' WHERE app = 'charla'\")",
        "    c.execute(\"UPDATE django_migrations SET app = 'notifications' WHERE app = 'charla_notifications'\")",
        "    c.execute(\"UPDATE django_content_type SET app_label = 'chat' WHERE app_label = 'charla'\")",
        "    c.execute(\"UPDATE django_content_type SET app_label = 'notifications'"
        " WHERE app_label = 'charla_notifications'\")",
    ]
)
FILL = """
from django.contrib.auth.models import User
from charla.chat import services
from charla.notifications.api import notify_user
ana = User.objects.create_user("ana", password="pw-ana-legacy-1")
luis = User.objects.create_user("luis", password="pw-luis-legacy-1")
room = services.room_create(creator=ana, name="ops")
services.room_open(user=luis, name="ops")
services.message_send(room=room, author=ana, content="before the move")
services.message_send(room=room, author=luis, content="@ana still here")
notify_user(luis, "Deploy", "done")
"""
READ = """
from django.contrib.auth.models import Permission
from charla.chat import services
from charla.chat.models import Message, Room
from charla.notifications.models import Notification
from django.contrib.auth.models import User
room = Room.objects.get(name="ops")
print([(m.seq, m.author.username, m.content) for m in Message.objects.filter(room=room).order_by("seq")])
print(sorted(Notification.objects.values_list("recipient__username", "kind")))
print(Permission.objects.filter(codename="delete_message", content_type__app_label="charla").count())
services.message_send(room=room, author=User.objects.get(username="ana"), content="after the move")
print(room.messages.count(), Room.objects.get(pk=room.pk).last_seq)
"""


def database_urls():
    yield "sqlite"
    if is_postgres():
        yield "postgres"


@pytest.fixture(params=list(database_urls()))
def fresh_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    db = settings.DATABASES["default"]
    name = f"charla_legacy_{uuid.uuid4().hex[:8]}"
    server = f"host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432} user={db.get('USER') or 'postgres'}"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"
    with psycopg.connect(f"{server} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def manage(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHARLA_"))}
    env.pop("REDIS_URL", None)
    env["DATABASE_URL"] = url
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if check:
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def test_an_old_database_is_adopted_with_every_message_and_migrate_waits_for_it(fresh_database):
    url = fresh_database
    manage(url, "migrate", "-v0")
    manage(url, "shell", "-v0", "-c", FILL)
    manage(url, "shell", "-v0", "-c", MAKE_OLD)

    refused = manage(url, "migrate", check=False)
    assert refused.returncode != 0 and "charla.E001" in refused.stderr, "migrate must not run on old tables"
    assert "charla_adopt_tables" in refused.stderr, "the error says what to run"

    adopted = manage(url, "charla_adopt_tables").stdout
    assert "chat_message -> charla_message" in adopted and "Adopted 5 tables" in adopted
    assert manage(url, "charla_adopt_tables", "-v2").stdout.strip() == "Nothing to adopt.", "running it again is safe"
    migrated = manage(url, "migrate").stdout
    assert "No migrations to apply." in migrated
    manage(url, "makemigrations", "--check", "--dry-run", "charla", "charla_notifications")

    lines = manage(url, "shell", "-v0", "-c", READ).stdout.strip().splitlines()
    assert lines == [
        "[(1, 'ana', 'before the move'), (2, 'luis', '@ana still here')]",
        "[('ana', 'mention'), ('luis', 'personal')]",
        "1",  # the admin permission kept its content type
        "3 3",  # the room's counter goes on from where it was
    ]


def test_a_new_database_has_nothing_to_adopt(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    manage(url, "migrate", "-v0")
    assert manage(url, "charla_adopt_tables").stdout == ""
    assert "charla.E001" not in manage(url, "check", "--database", "default").stderr


def test_old_tables_left_beside_new_ones_are_reported(tmp_path):
    """migrate run past the check (--skip-checks) made new tables: the old rows are not lost silently."""
    url = f"sqlite:///{tmp_path / 'both.sqlite3'}"
    manage(url, "migrate", "-v0")
    manage(
        url,
        "shell",
        "-v0",
        "-c",
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute('CREATE TABLE chat_room (id integer primary key, last_seq integer)')\n"
        '    c.execute("INSERT INTO django_migrations (app, name, applied)"\n'
        "              \" VALUES ('chat', '0001_initial', '2026-01-01')\")",
    )
    checked = manage(url, "check", "--database", "default")
    assert "charla.W001" in checked.stderr
    assert "charla.E001" not in checked.stderr
