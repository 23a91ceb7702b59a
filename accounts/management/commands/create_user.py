"""manage.py create_user USERNAME --role ROLE [--area CODE] [--email E] [--password-stdin]"""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Role
from accounts.services import user_create
from tracetrack.errors import ServiceError


class Command(BaseCommand):
    help = "Create a user with a role (and a dispatch area for dispatchers). The password is read from a prompt, or from standard input with --password-stdin."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--area", help="dispatch area code (required for dispatchers)")
        parser.add_argument("--email", default="")
        parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    def handle(self, *args, **options):
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        if not password:
            raise CommandError("A password is required.")
        try:
            user = user_create(
                actor=None,
                username=options["username"],
                password=password,
                role=options["role"],
                dispatch_area=options["area"],
                email=options["email"],
            )
        except ServiceError as exc:
            raise CommandError(exc.detail) from None
        area = f" in {user.dispatch_area.code}" if user.dispatch_area_id else ""
        self.stdout.write(self.style.SUCCESS(f"Created {user.role} {user.username}{area}."))
