"""Settings read from the environment: production refuses unsafe values; services are chosen by URL.

Each case starts a fresh interpreter, since settings are read once at import.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PRINT_SETTINGS = """
import json, os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from django.conf import settings
print(json.dumps({
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "channel_layers": settings.CHANNEL_LAYERS,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "database_name": str(settings.DATABASES["default"]["NAME"]),
    "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "static_storage": settings.STORAGES["staticfiles"]["BACKEND"],
    "static_autorefresh": settings.WHITENOISE_AUTOREFRESH,
}, default=repr))
"""
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-real-secret-for-this-test",
    "DJANGO_ALLOWED_HOSTS": "chat.example.com",
}


def start(**env) -> subprocess.CompletedProcess:
    """Import the settings in a new interpreter with only `env` set among Charla's variables."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CHARLA_")) and key not in {"DATABASE_URL", "REDIS_URL"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=REPO_ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def started(**env) -> dict:
    result = start(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("secret", [None, ""])
def test_production_without_a_secret_key_refuses_to_start(secret):
    env = {"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "chat.example.com"}
    if secret is not None:
        env["DJANGO_SECRET_KEY"] = secret
    result = start(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_with_any_host_allowed_refuses_to_start():
    result = start(**{**PRODUCTION, "DJANGO_ALLOWED_HOSTS": "*"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_with_a_secret_and_real_hosts_starts_with_secure_cookies():
    loaded = started(**PRODUCTION)
    assert loaded["debug"] is False
    assert loaded["allowed_hosts"] == ["chat.example.com"]
    assert loaded["secure_cookies"] == [True, True]


def test_development_defaults_start_without_any_configuration():
    loaded = started()
    assert loaded["debug"] is True
    assert "localhost" in loaded["allowed_hosts"] and "*" not in loaded["allowed_hosts"]
    assert loaded["secure_cookies"] == [False, False]


def test_redis_url_selects_the_redis_pub_sub_channel_layer_with_a_read_timeout_above_5_s():
    layer = started(REDIS_URL="redis://127.0.0.1:6399/2")["channel_layers"]["default"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    (host,) = layer["CONFIG"]["hosts"]
    assert host["address"] == "redis://127.0.0.1:6399/2"
    # redis-py 8's 5 s read timeout killed idle sockets (django/channels_redis#422).
    assert host["socket_timeout"] > 5
    # A command on a connection that died with a restarted Redis is retried on a new one.
    assert host["retry"].startswith("<redis.asyncio.retry.Retry")


def test_layer_redis_urls_spread_the_channel_layer_over_several_servers():
    loaded = started(REDIS_URL="redis://a:6379/0", CHARLA_LAYER_REDIS_URLS="redis://s1:6379/0,redis://s2:6379/0")
    hosts = loaded["channel_layers"]["default"]["CONFIG"]["hosts"]
    assert [h["address"] for h in hosts] == ["redis://s1:6379/0", "redis://s2:6379/0"]


def test_without_redis_url_the_in_memory_channel_layer_is_used():
    layer = started()["channel_layers"]["default"]
    assert layer["BACKEND"] == "channels.layers.InMemoryChannelLayer"


def test_postgres_database_url_selects_postgresql():
    loaded = started(DATABASE_URL="postgres://charla:pw@db.example.com:5432/charla")
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["database_name"] == "charla"


def test_default_database_is_sqlite_in_the_project():
    loaded = started()
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert Path(loaded["database_name"]).parent == REPO_ROOT


def test_make_run_serves_static_files_hashed_and_compressed_as_production_does():
    manifest = "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert started(**PRODUCTION)["static_storage"] == manifest
    run = started(DJANGO_STATIC_MANIFEST="1")  # what make run sets, with debug on
    assert (run["static_storage"], run["static_autorefresh"]) == (manifest, False)
    assert started()["static_storage"] == "django.contrib.staticfiles.storage.StaticFilesStorage", "runserver, tests"
