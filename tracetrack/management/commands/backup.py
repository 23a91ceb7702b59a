"""`manage.py backup`: a backup of the database into BACKUP_DIR (tracetrack.backups); prints
the file's path. The systemd timer deploy/systemd/tracetrack-backup.timer runs it nightly."""

from django.core.management.base import BaseCommand, CommandError

from tracetrack.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back up the database (pg_dump, or SQLite's online backup) into BACKUP_DIR and rotate old backups."

    def handle(self, *args, **options):
        try:
            path = backup()
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(path))
