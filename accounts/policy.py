"""Who may do what (API.md, "Who may do what"). Services call `require`; the API and the
pages ask `allowed` to hide what a role cannot use. Areas are checked by the services and
selectors themselves (DESIGN.md rule 7)."""

from accounts.models import Role, User
from tracetrack.errors import Forbidden

ALL_ROLES = frozenset(Role.values)
STAFF = frozenset({Role.ADMIN, Role.BILLER})
ADMINS = frozenset({Role.ADMIN})

PERMISSIONS: dict[str, frozenset[str]] = {
    "scan": ALL_ROLES,  # parent, child, undo (dispatchers in their own area)
    "bag.read": ALL_ROLES,
    "bag.create": STAFF,
    "bag.delete": ADMINS,
    "bill.read": STAFF,
    "bill.manage": STAFF,  # create, edit, add/remove parents, complete, reopen, summary
    "bill.delete": ADMINS,
    "stats.read": ALL_ROLES,
    "dashboard.read": STAFF,
    "user.manage": ADMINS,
}


def allowed(user: User | None, action: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return user.role in PERMISSIONS[action]


def require(user: User | None, action: str) -> None:
    """Raise `Forbidden` unless `user` may perform `action`."""
    if not allowed(user, action):
        raise Forbidden(detail="Your role does not allow this.")
