"""Which notification links may be stored and followed: this site's paths, or http(s) addresses."""

import unicodedata
from urllib.parse import urlsplit


def _has_hidden_characters(url: str) -> bool:
    # Browsers strip tabs and newlines anywhere and read "\" as "/" (WHATWG URL parsing), so
    # "/\evil.example/" or "/\t/evil.example/" leave the site: such characters are refused.
    return any(ch == "\\" or ch.isspace() or unicodedata.category(ch).startswith("C") for ch in url)


def is_safe_link(url: str) -> bool:
    """True for a path on this site ("/rooms/x/") or an http(s) address with a host."""
    if not url or _has_hidden_characters(url):
        return False
    if url.startswith("/"):
        return not url.startswith("//")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return False
    prefix = f"{parts.scheme}://"
    return (
        parts.scheme.lower() in {"http", "https"}
        and url[: len(prefix)].lower() == prefix.lower()
        and bool(hostname)
        and "@" not in parts.netloc
    )
