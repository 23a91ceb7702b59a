"""The parents of completed bills are frozen (bags.Bag.frozen, kept by billing.services from
now on): set the flag for the bills completed before it existed."""

from django.db import migrations


def freeze(apps, schema_editor):
    Bag = apps.get_model("bags", "Bag")
    Bag.objects.filter(bill_link__bill__status="completed").update(frozen=True)


def thaw(apps, schema_editor):
    apps.get_model("bags", "Bag").objects.filter(frozen=True).update(frozen=False)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0004_bill_description_bounded"),
        ("bags", "0004_bag_frozen"),
    ]

    operations = [migrations.RunPython(freeze, thaw)]
