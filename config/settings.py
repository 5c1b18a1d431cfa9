"""Charla settings, read from the environment (12-factor) with safe local defaults."""

import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-local-development-key-never-use-in-production"

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
if not DEBUG and "*" in ALLOWED_HOSTS:
    # '*' turns AllowedHostsOriginValidator into a no-op: cross-site WebSocket hijacking.
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list real host names when debug is off.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",  # first, so that runserver serves WebSockets too (channels#1956)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",  # login throttling (Accounts below)
    "channels",
    "charla.realtime",
    "charla.chat",
    "charla.notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires: turns a lockout into its page
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
_postgres = DATABASES["default"]["ENGINE"].endswith("postgresql")
# Channels closes connections after every socket message unless they are persistent: with
# PostgreSQL that is a new connection per chat message (12 % of server time in a profile;
# persistent ones measured +60 % deliveries at a room of 10, +19 % at 100). Health checks
# replace a connection that a database restart broke.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60 if _postgres else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several writers (HTTP threads and consumers) share one file: wait for the lock
    # instead of failing with "database is locked", and let readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "charla:room_list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
# The catalog ships inside the package (charla/chat/locale); named here so that makemessages finds it.
LOCALE_PATHS = [BASE_DIR / "charla" / "chat" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Hashed names and compressed copies (whitenoise), as in production: on with debug off, and
# under `make run` (DJANGO_STATIC_MANIFEST=1, after its collectstatic).
_STATIC_MANIFEST = env.bool("DJANGO_STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# With hashed names, files are served from STATIC_ROOT as collected, cached for ever by browsers.
WHITENOISE_AUTOREFRESH = DEBUG and not _STATIC_MANIFEST
# Django warns that whitenoise's file responses iterate synchronously under ASGI (one thread
# per static file, read in 8 KiB blocks): fine for Charla's few small files, which a proxy
# serves in production anyway (docs/scaling.md). The warning said nothing else at every page load.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")

# Headers.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
_BEHIND_TLS_PROXY = env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _BEHIND_TLS_PROXY else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind the TLS proxy with debug off: plain http is redirected to https, and browsers are
# told to use nothing else for a year. Paths a proxy probes over plain http (health checks
# sent to a worker directly) can be exempted with regular expressions.
_HTTPS_ONLY = _BEHIND_TLS_PROXY and not DEBUG
SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=_HTTPS_ONLY)
SECURE_REDIRECT_EXEMPT = env.list("DJANGO_SSL_REDIRECT_EXEMPT", default=[])
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 3600 if _HTTPS_ONLY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # Preloading commits the whole registered domain, not just Charla's host (hstspreload.org
    # takes only the apex domain's header): the operator's decision, not a default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# Content-Security-Policy (django-csp): the client is ES modules and a stylesheet from this
# site, with no inline script, style attribute or event handler. 'self' in connect-src
# covers the page's own ws:/wss: origin (CSP Level 3). The admin's pages pass too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "connect-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # the favicon and the stylesheet's icons are data: SVGs
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Accounts.
# Login throttling (django-axes): failed logins count per account and per client address;
# either reaching CHARLA_LOGIN_FAILURE_LIMIT within the cool-off locks logins for it (the
# right password included) until CHARLA_LOGIN_LOCKOUT_SECONDS pass without a failure.
# Charla's and the admin's login alike. Failures are stored in the database, shared by all
# processes; `python manage.py axes_reset` lifts every lockout.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("CHARLA_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("CHARLA_LOGIN_LOCKOUT_SECONDS", default=15 * 60))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "config.accounts.lockout_response"
AXES_CLIENT_IP_CALLABLE = "config.accounts.client_ip"  # X-Forwarded-For only behind the proxy
# AXES_RESET_ON_SUCCESS stays off: a login to one's own account would clear the failures
# counted against the address, and an attacker could keep guessing from it.
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login, kept forever
CHARLA_BEHIND_TLS_PROXY = _BEHIND_TLS_PROXY
# Mail (password reset). EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user:password@smtp.example.com:587. Without it, password reset is not offered
# (config/accounts.py): it would tell people a mail was sent that never leaves.
CHARLA_EMAIL_ENABLED = bool(env.str("EMAIL_URL", default=""))
vars().update(env.email_url("EMAIL_URL", default="dummymail://"))
DEFAULT_FROM_EMAIL = SERVER_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="Charla <charla@localhost>")

REDIS_URL = env.str("REDIS_URL", default="")
CHARLA_REDIS_URL = REDIS_URL  # presence and rate limits
# Without Redis, commands and a second worker reach the server's sockets through the database.
CHARLA_DATABASE_RELAY = env.str("CHARLA_DATABASE_RELAY", default="auto")  # "off" turns it off


def channel_layers_for(*redis_urls: str) -> dict:
    """The channel layer: Redis pub/sub over the given servers (groups are spread across
    them by a hash of their names), else in-process (one process only)."""
    if not any(redis_urls):
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # Each process subscribes once per group (charla.realtime.hub): Redis pub/sub is one PUBLISH per
    # event and a pushed stream per process, where the core layer costs a script and a
    # blocking pop per message. Both are at-most-once; the database fills any gap.
    # redis-py 8's 5 s read timeout killed idle sockets (django/channels_redis#422): 30 s.
    # Its pools retry nothing: after a Redis restart the first command on each pooled
    # connection failed; one retry on a new connection carries it.
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 2)
    hosts = [
        {"address": url, "socket_timeout": 30, "socket_connect_timeout": 5, "retry": retry} for url in redis_urls if url
    ]
    return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": hosts}}}


# Past one Redis: the channel layer's traffic over several (docs/scaling.md); presence and
# rate limits stay on REDIS_URL.
CHANNEL_LAYERS = channel_layers_for(*env.list("CHARLA_LAYER_REDIS_URLS", default=[REDIS_URL]))

# Charla's own limits.
CHARLA_MESSAGE_MAX_CHARS = env.int("CHARLA_MESSAGE_MAX_CHARS", default=4000)
CHARLA_FRAME_MAX_BYTES = env.int("CHARLA_FRAME_MAX_BYTES", default=64 * 1024)
# Frames queued for a socket whose reader is too slow before it is disconnected (it resumes).
CHARLA_SEND_BUFFER_BYTES = env.int("CHARLA_SEND_BUFFER_BYTES", default=1024 * 1024)
# Writes (sends, edits, deletions) per user: "30/10s", "100/m", or "off" (benchmarks).
CHARLA_SEND_RATE = env.str("CHARLA_SEND_RATE", default="30/10s")
# How often each process checks that its sockets missed nothing (seconds).
CHARLA_WATCH_INTERVAL = env.float("CHARLA_WATCH_INTERVAL", default=5.0)
# A crashed process's users drop out of presence after this many seconds.
CHARLA_PRESENCE_TTL = env.float("CHARLA_PRESENCE_TTL", default=30.0)

# Limits against abuse (docs/scaling.md says what the proxy must bound besides).
# Typing: one relayed change per user and room per this many seconds; the last one waits for the window's end.
CHARLA_TYPING_INTERVAL = env.float("CHARLA_TYPING_INTERVAL", default=2.0)
# Seconds a connection may take to send its request head (charla/realtime/internals.py); 0: no limit.
CHARLA_HEADER_TIMEOUT = env.float("CHARLA_HEADER_TIMEOUT", default=10.0)
# Open sockets (chat and notifications together) per user in each process; 0: no limit.
CHARLA_MAX_SOCKETS_PER_USER = env.int("CHARLA_MAX_SOCKETS_PER_USER", default=100)
# Messages with @sala/@room per user, in the syntax of CHARLA_SEND_RATE.
CHARLA_MASS_MENTION_RATE = env.str("CHARLA_MASS_MENTION_RATE", default="3/10m")
# A room-wide mention that would notify more than this many people must be confirmed by its sender.
CHARLA_MASS_MENTION_CONFIRM_OVER = env.int("CHARLA_MASS_MENTION_CONFIRM_OVER", default=20)

CHARLA_HISTORY_SIZE = env.int("CHARLA_HISTORY_SIZE", default=50)
# Public rooms every new account joins (those that exist), comma-separated; empty: none.
CHARLA_DEFAULT_ROOMS = env.list("CHARLA_DEFAULT_ROOMS", default=["general"])
CHARLA_RESUME_MAX = 500
CHARLA_PAGE_MAX = 100

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failures and lockouts, not every successful login
    },
}
