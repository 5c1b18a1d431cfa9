"""Bench users, sessions and rooms (Sala) in the tutorial's own database; like bench/fixtures.py for Charla.

Reads {"users": N, "rooms": {name: [user index, ...]}} on stdin and writes {"cookies": [session key per user]}.
The tutorial's consumer accepts a socket whose session is logged in and whose room (Sala.nombre, from the
URL) exists; it does not check membership (miembros is filled anyway, as the tutorial's views would).
"""

from __future__ import annotations

import json
import os
import sys


def make(users: int, rooms: dict[str, list[int]]) -> list[str]:
    from bench.fixtures import users_with_sessions
    from bench.tutorial_app.chat.models import Sala

    people, keys = users_with_sessions(users)
    for name, members in rooms.items():
        sala = Sala.objects.create(nombre=name, creador=people[members[0]])
        Sala.miembros.through.objects.bulk_create(
            [Sala.miembros.through(sala=sala, user=people[i]) for i in members], batch_size=2000
        )
    return keys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.tutorial_app.settings")
    import django

    django.setup()
    spec = json.load(sys.stdin)
    json.dump({"cookies": make(spec["users"], spec["rooms"])}, sys.stdout)


if __name__ == "__main__":
    main()
