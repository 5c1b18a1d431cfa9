import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("charla", "0002_rename_room_names_differing_in_case")]

    operations = [
        migrations.AddConstraint(
            model_name="room",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                name="unique_room_name_ignoring_case",
                violation_error_message="A room with this name already exists.",
            ),
        ),
    ]
