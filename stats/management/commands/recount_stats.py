"""manage.py recount_stats [--repair]"""

from django.core.management.base import BaseCommand

from accounts.models import DispatchArea
from stats.recount import drift, repair


class Command(BaseCommand):
    help = "Recount the dashboard counters from the tables; report any drift, and repair it with --repair."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="rewrite the counters (and recent scan tallies)")

    def handle(self, *args, **options):
        found = repair() if options["repair"] else drift()
        names = dict(DispatchArea.objects.values_list("pk", "code"))
        if not found:
            self.stdout.write(self.style.SUCCESS("Counters are exact."))
        for (area, metric), (stored, expected) in found.items():
            self.stdout.write(f"drift: {names.get(area, 'no area')} {metric}: stored {stored}, counted {expected}")
        if found and options["repair"]:
            self.stdout.write(self.style.SUCCESS(f"Repaired {len(found)} figures."))
        elif found:
            raise SystemExit(1)
