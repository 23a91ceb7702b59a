"""`manage.py restore FILE [--noinput] [--force]`: a backup back into the database, which
must be empty (tracetrack.backups). Stop the app servers and workers first."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tracetrack.backups import BackupError, restore, tables


class Command(BaseCommand):
    help = "Restore a backup (from manage.py backup) into the database, which must be empty unless --force."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="Do not ask for confirmation.")
        parser.add_argument("--force", action="store_true", help="Replace everything in a database that is not empty.")

    def handle(self, *args, file: Path, interactive: bool, force: bool, **options):
        name = connection.settings_dict["NAME"]
        if interactive:
            replacing = " Everything in it is replaced." if force and tables() else ""
            answer = input(f"Restore {file} into the database {name}?{replacing} Type 'yes' to go on: ")
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled.")
        try:
            restore(file, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Restored {file} into {name}."))
