"""Who may do what (API.md, "Who may do what"): the one permission table. Services call
`require`; the API, the pages and the admin ask `allowed`. Each action also names the Django
admin permissions it grants the staff roles it is for, so the Billers group's permissions
are this table's (accounts.services.biller_group). Areas are checked by the services and
selectors themselves (DESIGN.md rule 7)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.models import Role, User
from tracetrack.errors import Forbidden

ALL_ROLES = frozenset(Role.values)
STAFF = frozenset({Role.ADMIN, Role.BILLER})
ADMINS = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    # The admin's model permissions ("app_label.codename") this grants the staff among
    # `roles` (admins are superusers and have them all).
    admin: tuple[str, ...] = ()


POLICY: dict[str, Rule] = {
    "scan": Rule(ALL_ROLES),  # parent, child, undo (dispatchers in their own area)
    "bag.read": Rule(ALL_ROLES, admin=("bags.view_bag", "bags.view_link", "scans.view_scan")),
    "bag.create": Rule(STAFF),
    "bag.delete": Rule(ADMINS),
    "bill.read": Rule(STAFF, admin=("billing.view_bill", "billing.view_billbag")),
    # create, edit, add/remove parents, complete, reopen, summary
    "bill.manage": Rule(STAFF, admin=("billing.add_bill", "billing.change_bill")),
    "bill.delete": Rule(ADMINS),
    "stats.read": Rule(ALL_ROLES),
    "dashboard.read": Rule(STAFF),
    "user.manage": Rule(ADMINS),
    "import": Rule(ADMINS),  # thousands of rows at once
}


def allowed(user: User | None, action: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.role in POLICY[action].roles


def require(user: User | None, action: str) -> None:
    """Raise `Forbidden` unless `user` may perform `action`."""
    if not allowed(user, action):
        raise Forbidden(detail=_("Your role does not allow this."))


def admin_permissions(role: str) -> list[tuple[str, str]]:
    """The admin permissions (app_label, codename) of a staff role, from the table."""
    return sorted({tuple(permission.split(".", 1)) for rule in POLICY.values() if role in rule.roles
                   for permission in rule.admin})
