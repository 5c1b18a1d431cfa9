"""The seed tutorial's config/settings.py, kept as written for comparison, bugs included.

The tutorial shows only INSTALLED_APPS, ASGI_APPLICATION and CHANNEL_LAYERS; the rest is what
`django-admin startproject` writes. Changes, each needed to run it here at all:
- the app lives at bench.tutorial_app.chat (label "chat"), not chat: Charla's own package is "chat";
- SQLite file, Redis URL and secret key come from the bench (TUTORIAL_DATABASE, TUTORIAL_REDIS_URL,
  TUTORIAL_SECRET_KEY);
- DEBUG off and ALLOWED_HOSTS set, as Charla is run (DEBUG on would also keep every query in memory);
- the Redis host is a dict with socket_timeout=30: redis-py 8 defaults to 5 s while channels-redis blocks
  5 s in BZPOPMIN, so idle consumers would crash every ~5 s with close 1011 (django/channels_redis#422).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ.get("TUTORIAL_SECRET_KEY", "tutorial-bench-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "daphne",  # CRÍTICO: Daphne debe ir primero
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "bench.tutorial_app.chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bench.tutorial_app.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Esta línea le dice a Django que use ASGI en lugar de WSGI
ASGI_APPLICATION = "bench.tutorial_app.asgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("TUTORIAL_DATABASE", ":memory:"),
    }
}

# Configuración del backend de canales
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # The tutorial: "hosts": [('127.0.0.1', 6379)]. socket_timeout=30: see the docstring (redis-py 8).
            "hosts": [
                {"address": os.environ.get("TUTORIAL_REDIS_URL", "redis://127.0.0.1:6379/0"), "socket_timeout": 30}
            ],
        },
    },
}

LANGUAGE_CODE = "es"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
