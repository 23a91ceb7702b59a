"""Writing audit rows."""

from typing import Any

from accounts.models import AuditLog, User
from tracetrack import request_context


def audit(
    *,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id: Any = "",
    before: dict | None = None,
    after: dict | None = None,
    actor_username: str | None = None,
) -> AuditLog:
    """Record one change. Call it inside the service's transaction; the client IP and the
    request id come from the request being served, when there is one."""
    context = request_context.current()
    if actor is not None and not actor.pk:
        actor = None  # anonymous users (failed logins) have no row to point at
    return AuditLog.objects.create(
        actor=actor,
        actor_username=actor_username if actor_username is not None else (actor.username if actor else ""),
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        ip=context.ip,
        request_id=context.request_id,
    )
