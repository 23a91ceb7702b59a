"""Audit rows for logins, failed logins and lockouts (DESIGN.md, AuditLog); the cached
session user forgotten when the user changes."""

from functools import partial

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import services
from accounts.audit import audit
from accounts.models import ApiToken, DispatchArea, User
from accounts.selectors import area_users_changed, session_user_changed, token_changed, tokens_of_user_changed
from tracetrack import metrics
from tracetrack.middleware import note_refresh


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs):
    metrics.LOGINS.labels("success").inc()
    audit(actor=user, action="auth.login", entity_type="user", entity_id=user.username)


@receiver(user_logged_in, dispatch_uid="session_refresh_on_login")
def session_refreshed_on_login(sender, request, user, **kwargs):
    """A new session is written at login anyway: it starts with its refresh time, so the
    next request does not write it again (tracetrack.middleware.SessionIdleMiddleware)."""
    if request is not None and hasattr(request, "session"):
        note_refresh(request.session)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    metrics.LOGINS.labels("failure").inc()
    audit(actor=None, actor_username=username, action="auth.login_failed", entity_type="user", entity_id=username)


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def audit_lockout(sender, request, username, ip_address, **kwargs):
    username = str(username or "")[:150]
    metrics.LOCKOUTS.inc()
    audit(actor=None, actor_username=username, action="auth.locked_out", entity_type="user", entity_id=username)


@receiver([post_save, post_delete], sender=User, dispatch_uid="session_user_changed")
def forget_session_user(sender, instance, **kwargs):
    """Now, and again at commit: a request that read the row before the commit must not
    cache it (see accounts.selectors.session_user)."""
    for forget in (session_user_changed, tokens_of_user_changed):
        forget(instance.pk)
        transaction.on_commit(partial(forget, instance.pk))


@receiver(post_save, sender=User, dispatch_uid="password_changed_revokes_tokens")
def password_changed(sender, instance, created, **kwargs):
    """A saved new password (admin, API, reset, `changepassword`: every path ends in
    `set_password` and `save`) revokes the user's tokens. Their other sessions end on their
    own: each session keeps a hash of the password it logged in with, and Django refuses it
    once that no longer matches (the session of the user who changed their own password is
    kept by `update_session_auth_hash`)."""
    if not created and getattr(instance, "_password", None) is not None:
        services.tokens_revoke_all(user=instance, reason="password changed")


@receiver([post_save, post_delete], sender=ApiToken, dispatch_uid="api_token_changed")
def forget_api_token(sender, instance, **kwargs):
    """The same for a cached API token (accounts.selectors.token_by_hash)."""
    token_changed(instance.key_hash)
    transaction.on_commit(partial(token_changed, instance.key_hash))


@receiver(post_save, sender=DispatchArea, dispatch_uid="area_users_changed")
def forget_area_users(sender, instance, created, **kwargs):
    """A renamed area: its users' cached copies show its code."""
    if not created:
        area_users_changed(instance.pk)
        transaction.on_commit(partial(area_users_changed, instance.pk))
