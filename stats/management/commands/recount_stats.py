"""manage.py recount_stats [--repair]"""

from django.core.management.base import BaseCommand

from accounts.models import DispatchArea, User
from stats.recount import drift, repair


class Command(BaseCommand):
    help = "Recount the dashboard counters from the tables; report any drift, and repair it with --repair."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="rewrite the counters and today's scan tallies")

    def handle(self, *args, **options):
        found = repair() if options["repair"] else drift()
        areas = dict(DispatchArea.objects.values_list("pk", "code"))
        users = dict(User.objects.filter(pk__in=[key for key, metric in found if metric == "operator_scans_today"])
                     .values_list("pk", "username"))
        if not found:
            self.stdout.write(self.style.SUCCESS("Counters are exact."))
        for (key, metric), (stored, expected) in found.items():
            whose = users.get(key, "no user") if metric == "operator_scans_today" else areas.get(key, "no area")
            self.stdout.write(f"drift: {whose} {metric}: stored {stored}, counted {expected}")
        if found and options["repair"]:
            self.stdout.write(self.style.SUCCESS(f"Repaired {len(found)} figures."))
        elif found:
            raise SystemExit(1)
