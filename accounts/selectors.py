"""Reads about users and areas."""

from django.db.models import QuerySet

from accounts.models import DispatchArea, Role, User
from tracetrack.errors import NotFound, invalid


def area_by_code(code: "str | DispatchArea | None", *, field: str = "dispatch_area") -> DispatchArea | None:
    """The area named by `code` (trimmed, case-insensitive); `None` for an empty value.
    An unknown code is a 400 on `field`."""
    if code is None or isinstance(code, DispatchArea):
        return code
    normalized = str(code).strip().lower()
    if not normalized:
        return None
    area = DispatchArea.objects.filter(code=normalized).first()
    if area is None:
        raise invalid(field, f"Unknown dispatch area {normalized!r}.")
    return area


def user_get(*, username: str) -> User:
    user = User.objects.select_related("dispatch_area").filter(username=username.strip()).first()
    if user is None:
        raise NotFound(detail=f"No user {username.strip()!r}.")
    return user


def active_admins() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role=Role.ADMIN)


def users_for_listing() -> QuerySet[User]:
    return User.objects.select_related("dispatch_area")
