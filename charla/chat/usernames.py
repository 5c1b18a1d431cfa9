"""Username rules: names that cannot pass for someone else's and that can always be @mentioned.

@sala and @room mention a whole room, so nobody may take them.

A name is Latin letters (with or without accents), ASCII digits and `.`, `_`, `-`, and does
not end with `.` (charla.chat.mentions.MENTION would stop before it). That rules out
every other script (a Cyrillic `а` in `аlice`), lookalike Latin letters such as `ɑ`, `ı`
or `ꞵ`, fullwidth forms, invisible and combining characters. A name is also refused when
it looks the same as a taken one: the same ignoring case, or with `I`, `l` and `1`, or `O`
and `0`, swapped (they are the same glyph in many fonts).
"""

from __future__ import annotations

import string
import unicodedata

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from charla.chat.mentions import ROOM_WIDE_MENTIONS

ASCII_LETTERS = frozenset(string.ascii_letters)
ALLOWED_ASCII = ASCII_LETTERS | frozenset(string.digits) | frozenset("._-")
# Characters read as the same one (a capital I is also an i, by case: the relation is
# per character, not a mapping of whole names).
LOOKALIKE_GROUPS = ("lI1", "oO0")


def is_accented_latin_letter(char: str) -> bool:
    """An ASCII letter with accents composed onto it (á, Ñ, ü), not a Latin lookalike such as ɑ or ı."""
    decomposed = unicodedata.normalize("NFD", char)
    return (
        len(decomposed) > 1
        and decomposed[0] in ASCII_LETTERS
        and all(unicodedata.category(mark) == "Mn" for mark in decomposed[1:])
    )


def validate_username_characters(username: str) -> None:
    """Refuse a name outside the confusable-safe set (see the module docstring)."""
    # Only composed (NFC) names: a decomposed "é" or a Kelvin sign "K" would be a second
    # spelling of a name that looks identical.
    if username != unicodedata.normalize("NFC", username) or not all(
        c in ALLOWED_ASCII or is_accented_latin_letter(c) for c in username
    ):
        raise ValidationError(
            _("Use only letters (accents are fine), digits, and . _ - in a username."), code="invalid_characters"
        )
    if username.endswith("."):
        raise ValidationError(_("A username cannot end with a dot (it could not be mentioned)."), code="trailing_dot")


def looks_alike(a: str, b: str) -> bool:
    """Whether two characters are taken for each other: the same ignoring case, or lookalikes."""
    return a.casefold() == b.casefold() or any(a in group and b in group for group in LOOKALIKE_GROUPS)


def names_look_alike(a: str, b: str) -> bool:
    """Whether two names are taken for each other, character by character."""
    a, b = unicodedata.normalize("NFC", a), unicodedata.normalize("NFC", b)
    return len(a) == len(b) and all(looks_alike(x, y) for x, y in zip(a, b, strict=True))


def _lookalike_pattern(username: str) -> str:
    """A regex (valid for Python's re and PostgreSQL) that every name looking like this one matches.

    Non-ASCII letters match any character: the database's case folding of them differs
    between SQLite (ASCII only) and PostgreSQL, so names_look_alike() decides in Python.
    """
    classes = []
    for char in username:
        if char in ALLOWED_ASCII:
            classes.append("[" + "".join(sorted(c for c in ALLOWED_ASCII if looks_alike(c, char))) + "]")
        else:
            classes.append(".")
    return "^" + "".join(classes) + "$"


def lookalike_of(username: str, *, exclude_pk=None) -> str | None:
    """The taken name that looks like `username` (the same ignoring case or lookalikes), if any."""
    User = get_user_model()  # noqa: N806
    field = User.USERNAME_FIELD
    candidates = User.objects.filter(**{f"{field}__regex": _lookalike_pattern(username)})
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    return next((name for name in candidates.values_list(field, flat=True) if names_look_alike(name, username)), None)


def validate_not_lookalike(username: str, *, exclude_pk=None) -> None:
    """Refuse a name that looks like one already taken."""
    if lookalike_of(username, exclude_pk=exclude_pk) is not None:
        raise ValidationError(_("A user with that username already exists."), code="unique")


def validate_reserved(username: str) -> None:
    """Refuse the names that mention a whole room."""
    if username.lower() in ROOM_WIDE_MENTIONS:
        raise ValidationError(_("This name is reserved for mentioning a whole room."), code="reserved")


def validate_username(username: str, *, exclude_pk=None) -> None:
    """Refuse a name nobody may take: reserved, outside the safe characters, or a lookalike of a taken one."""
    validate_reserved(username)
    validate_username_characters(username)
    validate_not_lookalike(username, exclude_pk=exclude_pk)
