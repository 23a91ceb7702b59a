from django.db import migrations

AREAS = [
    ("lucknow", "Lucknow"),
    ("indore", "Indore"),
    ("jaipur", "Jaipur"),
    ("hisar", "Hisar"),
    ("sri_ganganagar", "Sri Ganganagar"),
    ("sangaria", "Sangaria"),
    ("bathinda", "Bathinda"),
    ("raipur", "Raipur"),
    ("ranchi", "Ranchi"),
    ("akola", "Akola"),
]


def seed(apps, schema_editor):
    DispatchArea = apps.get_model("accounts", "DispatchArea")
    for code, name in AREAS:
        DispatchArea.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
