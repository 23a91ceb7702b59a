"""`manage.py send_eod_summary [--date YYYY-MM-DD]`: the end-of-day summary e-mail, once per
day (billing.eod); Celery beat sends it at EOD_SUMMARY_AT on its own."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from billing.eod import send_eod_summary


class Command(BaseCommand):
    help = "E-mail the end-of-day summary to billers and admins (once per day)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today in TIME_ZONE)")

    def handle(self, *args, date: str | None = None, **options):
        day = None
        if date:
            try:
                day = _parse(date)
            except ValueError:
                raise CommandError("--date must be YYYY-MM-DD") from None
        outcome = send_eod_summary(day=day)
        if outcome.sent:
            self.stdout.write(self.style.SUCCESS(f"Summary of {outcome.day} sent to {outcome.recipients} people."))
        else:
            self.stdout.write(f"Summary of {outcome.day} not sent: {outcome.reason}.")


def _parse(text: str):
    return date.fromisoformat(text)
