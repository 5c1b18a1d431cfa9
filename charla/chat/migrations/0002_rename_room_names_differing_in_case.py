"""Before room names become unique in any case: rename the later of rooms whose names differ only in case.

The oldest room (lowest id) keeps its name; each later one gets the first free "-2",
"-3", ... suffix (cut to fit 50 characters), and each rename is printed. Links to the
old names (bookmarks, notifications) then lead to a 404.
"""

from django.db import migrations

MAX_LENGTH = 50


def _free_name(name: str, taken: set[str]) -> str:
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = name[: MAX_LENGTH - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        n += 1


def rename_duplicates(apps, schema_editor):
    Room = apps.get_model("charla", "Room")
    rooms = list(Room.objects.order_by("pk").values_list("pk", "name"))
    taken = {name.lower() for _pk, name in rooms}
    kept: set[str] = set()
    for pk, name in rooms:
        if name.lower() not in kept:
            kept.add(name.lower())
            continue
        new_name = _free_name(name, taken)
        taken.add(new_name.lower())
        kept.add(new_name.lower())
        Room.objects.filter(pk=pk).update(name=new_name)
        print(f"\n  Room {pk} renamed from {name!r} to {new_name!r}: another room's name differs only in case.")


class Migration(migrations.Migration):
    dependencies = [("charla", "0001_initial")]

    operations = [migrations.RunPython(rename_duplicates, migrations.RunPython.noop, elidable=False)]
