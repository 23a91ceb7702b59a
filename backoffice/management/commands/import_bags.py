"""`manage.py import_bags FILE --user USERNAME [--commit] [--bills]`: the admin's import
(backoffice.importing) from the command line, for files too big for a web request.

Without --commit it is a dry run: every row is checked through the services and nothing
is kept. With --commit the file is imported in one transaction, all or nothing.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import User
from backoffice.importing import BAGS, BILLS, ImportFileError, import_file
from tracetrack.errors import ServiceError

# Refused rows printed before "… and N more".
SHOWN_PROBLEMS = 200


class Command(BaseCommand):
    help = "Import bags (or bills with --bills) from a CSV or XLSX file; a dry run unless --commit."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="The admin the import is done as (audit log, scans).")
        parser.add_argument("--commit", action="store_true", help="Write the rows (all or nothing).")
        parser.add_argument("--bills", action="store_true", help="The file holds bills, not bags.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, file: Path, user: str, commit: bool, bills: bool, no_progress: bool, **options):
        actor = User.objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"No user {user!r}.")
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        hide = no_progress or not sys.stderr.isatty()
        with tqdm(unit="row", unit_scale=True, file=sys.stderr, disable=hide) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            try:
                report = import_file(
                    user=actor, kind=BILLS if bills else BAGS, path=file, file_name=file.name, commit=commit,
                    progress=progress,
                )
            except (ImportFileError, ServiceError) as exc:
                raise CommandError(str(getattr(exc, "detail", exc))) from None

        for problem in report.problems[:SHOWN_PROBLEMS]:
            reasons = "; ".join(f"{message} [{code}]" for code, message in problem.reasons)
            self.stdout.write(f"{problem.where}: {problem.code}: {reasons}")
        if len(report.problems) > SHOWN_PROBLEMS:
            self.stdout.write(f"… and {len(report.problems) - SHOWN_PROBLEMS} more refused rows.")
        counts = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in sorted(report.counts.items()))
        summary = (
            f"{report.rows} rows, {report.good_rows} good, {len(report.problems)} refused "
            f"in {report.seconds:.1f}s ({report.rate:,.0f} rows/s)"
        )
        if report.committed:
            self.stdout.write(self.style.SUCCESS(f"Imported {summary}: {counts}."))
        elif report.problems:
            raise CommandError(f"Nothing written: {summary}.")
        else:
            self.stdout.write(self.style.SUCCESS(f"Dry run, nothing written: {summary}. Use --commit to import."))
