"""The WebSocket handshake's Origin check: a socket must be opened by a page of Charla itself.

Browsers send cookies with a WebSocket handshake whatever page opens it, so a page on
another origin could read and post as the visitor (cross-site WebSocket hijacking).
Channels' AllowedHostsOriginValidator compares host names only: a page on another port
or scheme of the same host passed. This follows Django's CSRF rule instead
(django/middleware/csrf.py, _origin_verified): the origin must be `<scheme>://<Host>`,
where the scheme is https when the socket is secure (wss, or SECURE_PROXY_SSL_HEADER
says so) and the Host header passes ALLOWED_HOSTS, or one of CSRF_TRUSTED_ORIGINS.
Unlike Django, both sides are compared case-normalized and with default ports made
explicit, so `HTTP://Host:80` is `http://host`. A missing or `null` Origin is refused.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import is_same_domain, split_domain_port, validate_host

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": "80", "https": "443"}

Origin = tuple[str, str, str]  # scheme, host, port: lower-cased, the port always given


def parse_origin(origin: str) -> Origin | None:
    """An origin as (scheme, host, port), normalized; None unless it is exactly http(s)://host[:port]."""
    scheme, separator, netloc = origin.lower().partition("://")
    if not separator or scheme not in DEFAULT_PORTS:
        return None
    # Django's host syntax: no userinfo, path or stray characters (`host:1@evil` is refused).
    host, port = split_domain_port(netloc)
    if not host or len(port) > 5:
        return None
    return scheme, host, str(int(port)) if port else DEFAULT_PORTS[scheme]


@lru_cache(maxsize=8)
def trusted_origins(origins: tuple[str, ...]) -> tuple[frozenset[Origin], tuple[Origin, ...]]:
    """CSRF_TRUSTED_ORIGINS parsed once: the exact origins, and the `*.domain` patterns."""
    exact, patterns = set(), []
    for origin in origins:
        if "*" in origin:
            parsed = parse_origin(origin.replace("*", "", 1))
            if parsed is not None and parsed[1].startswith("."):
                patterns.append(parsed)
        elif (parsed := parse_origin(origin)) is not None:
            exact.add(parsed)
    return frozenset(exact), tuple(patterns)


def _header(headers, name: bytes) -> str | None:
    """A request header as Django's request.META has it: repeated headers joined with commas."""
    values = [value for key, value in headers if key == name]
    return b",".join(values).decode("latin-1") if values else None


def _is_secure(scope, headers) -> bool:
    """request.is_secure() for a socket: the proxy's header when configured and present, else wss."""
    if settings.SECURE_PROXY_SSL_HEADER:
        meta_name, secure_value = settings.SECURE_PROXY_SSL_HEADER
        name = meta_name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        value = _header(headers, name)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") in ("wss", "https")


def _own_origin(scope, headers) -> Origin | None:
    """`<scheme>://<Host>` of this request, if the Host header names an allowed host."""
    host = None
    if settings.USE_X_FORWARDED_HOST:
        host = _header(headers, b"x-forwarded-host")
    host = host or _header(headers, b"host")
    if host is None:
        return None
    own = parse_origin(("https://" if _is_secure(scope, headers) else "http://") + host)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = [".localhost", "127.0.0.1", "[::1]"]
    if own is None or not validate_host(own[1], allowed_hosts):
        return None
    return own


def origin_allowed(scope) -> bool:
    """Whether a WebSocket handshake's Origin is Charla's own origin or a trusted one."""
    headers = scope.get("headers", ())
    origin = _header(headers, b"origin")
    parsed = parse_origin(origin) if origin else None
    if parsed is None:
        return False
    if parsed == _own_origin(scope, headers):
        return True
    exact, patterns = trusted_origins(tuple(settings.CSRF_TRUSTED_ORIGINS))
    return parsed in exact or any(
        parsed[0] == scheme and parsed[2] == port and is_same_domain(parsed[1], host) for scheme, host, port in patterns
    )


class _Denier(WebsocketDenier):
    """Refuses the handshake (the client sees HTTP 403), without a channel on the layer."""

    channel_layer_alias = None


class OriginMiddleware:
    """Refuses a WebSocket whose Origin is not Charla's own (scheme, host and port) or a trusted one."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if not origin_allowed(scope):
            logger.info("refused a WebSocket from origin %r", _header(scope.get("headers", ()), b"origin"))
            return await _Denier()(scope, receive, send)
        return await self.inner(scope, receive, send)
