"""User and API-token changes. Every rule about users lives here (DESIGN.md rule 10)."""

import hashlib
import hmac
import re
import secrets
import time
from datetime import timedelta
from functools import partial, reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit
from accounts.models import ApiToken, DispatchArea, Role, User
from accounts.policy import admin_permissions, require
from accounts.selectors import (
    active_admins,
    area_by_code,
    normalize_area_code,
    signature_seen,
    token_by_hash,
    token_changed,
    token_forget,
)
from tracetrack.errors import InvalidInput, UserRefused, invalid

UNSET: Any = object()
TOKEN_PREFIX = "tt_"
# last_used_at is a convenience for people reading the token list; writing it on every
# request would turn each API read into a write, so it is refreshed at most this often.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "eod_summary": user.eod_summary,
        "role": user.role,
        "dispatch_area": user.dispatch_area.code if user.dispatch_area_id else None,
        "is_active": user.is_active,
    }


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise invalid("role", _("Role must be one of %(values)s.") % {"values": ', '.join(Role.values)})
    return role


USERNAME_MAX_LENGTH = User._meta.get_field("username").max_length


def _check_username(username: str) -> str:
    """Trimmed; 1–150 letters, digits and @ . + - _ (Django's username rule): no markup, no
    control characters, nothing longer than the column."""
    username = str(username or "").strip()
    if not username:
        raise invalid("username", _("A username is required."))
    if len(username) > USERNAME_MAX_LENGTH:
        raise invalid("username", _("A username has at most %(count)s characters.") % {"count": USERNAME_MAX_LENGTH})
    try:
        User.username_validator(username)
    except ValidationError:
        raise invalid("username", _("A username may contain only letters, digits and @ . + - _ characters.")) from None
    return username


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput({"password": list(exc.messages)}) from None


# What billers may do in the admin, from the permission table (accounts.policy): manage bills
# (not delete them), read bags and scans.
BILLER_GROUP = "Billers"


def biller_group() -> Group:
    """The Billers group with its permissions, made when missing (after a flush, say)."""
    group, _created = Group.objects.get_or_create(name=BILLER_GROUP)
    permissions = admin_permissions(Role.BILLER)
    if group.permissions.count() != len(permissions):
        wanted = reduce(or_, (Q(content_type__app_label=app, codename=code) for app, code in permissions))
        group.permissions.set(Permission.objects.filter(wanted))
    return group


def _apply_role(user: User, role: str, area: DispatchArea | None) -> None:
    """Role decides admin-site access: admins are superusers; billers are staff with the
    Billers group's permissions (see `_sync_groups`); dispatchers have no admin."""
    if role == Role.DISPATCHER and area is None:
        raise invalid("dispatch_area", _("A dispatcher needs a dispatch area."))
    user.role = role
    user.dispatch_area = area
    user.is_superuser = role == Role.ADMIN
    user.is_staff = role in (Role.ADMIN, Role.BILLER)


def _sync_groups(user: User) -> None:
    if user.role == Role.BILLER:
        user.groups.add(biller_group())
    else:
        user.groups.remove(*user.groups.filter(name=BILLER_GROUP))


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    role: str,
    dispatch_area: "str | DispatchArea | None" = None,
    email: str = "",
    validate: bool = True,
) -> User:
    """Create a user. `actor=None` is the system (management commands). A password of
    `None` makes an account that cannot log in until one is set."""
    if actor is not None:
        require(actor, "user.manage")
    username = _check_username(username)
    user = User(username=username, email=(email or "").strip())
    _apply_role(user, _check_role(role), area_by_code(dispatch_area))
    if password is None:
        user.set_unusable_password()
    else:
        if validate:
            _check_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise UserRefused("user_exists", _("User %(username)s already exists.") % {"username": repr(username)}) from None
    _sync_groups(user)
    audit(actor=actor, action="user.create", entity_type="user", entity_id=user.username, after=_snapshot(user))
    return user


def _ensure_other_active_admin(target: User) -> None:
    """Refuse with `last_admin` when `target` is the only active admin. The active admins
    are locked so that two admins demoting each other at once cannot both succeed."""
    admin_ids = list(active_admins().select_for_update().order_by("pk").values_list("pk", flat=True))
    if not [pk for pk in admin_ids if pk != target.pk]:
        raise UserRefused("last_admin", _("This is the last active admin; make another admin first."))


@transaction.atomic
def user_update(
    *,
    actor: User | None,
    target: User,
    role: str = UNSET,
    dispatch_area: "str | DispatchArea | None" = UNSET,
    email: str = UNSET,
    is_active: bool = UNSET,
    password: str = UNSET,
    first_name: str = UNSET,
    last_name: str = UNSET,
    eod_summary: bool = UNSET,
) -> User:
    """Change a user. Nobody changes their own role (`own_role`, checked first); the last
    active admin cannot be demoted or deactivated (`last_admin`)."""
    if actor is not None:
        require(actor, "user.manage")
    target = User.objects.select_for_update(of=("self",)).select_related("dispatch_area").get(pk=target.pk)
    before = _snapshot(target)

    new_role = target.role if role is UNSET else role
    if new_role != target.role and actor is not None and actor.pk == target.pk:
        raise UserRefused("own_role", _("You cannot change your own role."))
    _check_role(new_role)
    new_area = target.dispatch_area if dispatch_area is UNSET else area_by_code(dispatch_area)
    new_active = target.is_active if is_active is UNSET else bool(is_active)

    loses_admin = target.is_active and target.role == Role.ADMIN and (new_role != Role.ADMIN or not new_active)
    if loses_admin:
        _ensure_other_active_admin(target)

    _apply_role(target, new_role, new_area)
    target.is_active = new_active
    if email is not UNSET:
        target.email = (email or "").strip()
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not UNSET:
            setattr(target, field, str(value or "").strip()[:150])
    if eod_summary is not UNSET:
        target.eod_summary = bool(eod_summary)
    if password is not UNSET:
        _check_password(password, target)
        target.set_password(password)
    target.save()
    if before["role"] != target.role:
        _sync_groups(target)

    after = _snapshot(target)
    if password is not UNSET:
        after["password"] = "changed"
    if after != before:
        action = "user.role_change" if before["role"] != after["role"] else "user.update"
        audit(actor=actor, action=action, entity_type="user", entity_id=target.username, before=before, after=after)
    return target


@transaction.atomic
@transaction.atomic
def user_reset_password(*, user: User, password: str) -> User:
    """A user's own new password, from a password-reset link (the link sent to their e-mail
    proved who they are). Like every saved new password it revokes their tokens and ends
    their sessions (accounts.signals)."""
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit(actor=user, action="user.password_reset", entity_type="user", entity_id=user.username,
          after={"password": "changed"})
    return user


def user_delete(*, actor: User | None, target: User) -> None:
    """Delete a user; their scans and bills stay (the user column becomes empty)."""
    if actor is not None:
        require(actor, "user.manage")
    target = User.objects.select_for_update().get(pk=target.pk)
    if target.is_active and target.role == Role.ADMIN:
        _ensure_other_active_admin(target)
    before = _snapshot(target)
    # The audit row first: the actor may be the user being deleted (the delete then empties
    # its actor column, and `actor_username` keeps the name).
    audit(actor=actor, action="user.delete", entity_type="user", entity_id=before["username"], before=before)
    target.delete()


@transaction.atomic
def area_save(*, actor: User | None, code: str, name: str, area: DispatchArea | None = None) -> DispatchArea:
    """Create a dispatch area, or rename one (its code stays: bags, scans and users name
    it). Refusals: 400 for a bad code or name, `area_exists`."""
    if actor is not None:
        require(actor, "user.manage")
    code = normalize_area_code(code)
    name = str(name or "").strip()
    errors: dict[str, list[str]] = {}
    if area is None and not re.fullmatch(r"[a-z0-9_-]{2,50}", code):
        errors["code"] = [_("An area code is 2–50 lower-case letters, digits, '_' or '-'.")]
    if not name or len(name) > DispatchArea._meta.get_field("name").max_length:
        errors["name"] = [_("A name of 1–100 characters is required.")]
    if errors:
        raise InvalidInput(errors)
    if area is None:
        area = DispatchArea(code=code, name=name)
        try:
            with transaction.atomic():
                area.save(force_insert=True)
        except IntegrityError:
            raise UserRefused("area_exists", _("Area %(code)s already exists.") % {"code": repr(code)}) from None
        audit(actor=actor, action="area.create", entity_type="area", entity_id=code, after={"name": name})
        return area
    area = DispatchArea.objects.select_for_update().get(pk=area.pk)
    before = area.name
    if before != name:
        area.name = name
        area.save(update_fields=["name"])
        audit(actor=actor, action="area.rename", entity_type="area", entity_id=area.code, before={"name": before},
              after={"name": name})
    return area


@transaction.atomic
def user_set_eod_summary(*, user: User, wanted: bool) -> User:
    """A user's own choice: the end-of-day summary e-mail, or not (audited)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.eod_summary != wanted:
        user.eod_summary = wanted
        user.save(update_fields=["eod_summary"])
        audit(actor=user, action="user.eod_summary", entity_type="user", entity_id=user.username,
              before={"eod_summary": not wanted}, after={"eod_summary": wanted})
    return user


def language_valid(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """A user's own choice of the pages' language (the header's switch); "" follows the
    browser. An unknown language → 400 `invalid`."""
    if language and not language_valid(language):
        raise invalid("language", _("Choose one of the offered languages."))
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.language != language:
        before = user.language
        user.language = language
        user.save(update_fields=["language"])
        audit(actor=user, action="user.language", entity_type="user", entity_id=user.username,
              before={"language": before}, after={"language": language})
    return user


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(
    *, user: User, name: str = "", ttl_days: int | None = None, read_only: bool = False,
    require_signature: bool = False,
) -> tuple[ApiToken, str]:
    """Make an API token for `user`. Returns the row and the secret, which is not stored
    and cannot be shown again. A token that requires signatures carries its signing
    secret (`token.signing_secret`), shown to its owner once, with the token."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=(name or "").strip()[:100],
        key_hash=_hash_token(raw),
        prefix=raw[:10],
        created_at=now,
        expires_at=now + timedelta(days=ttl_days or settings.TOKEN_TTL_DAYS),
        read_only=read_only,
        signing_secret=secrets.token_hex(32) if require_signature else "",
    )
    audit(actor=user, action="token.create", entity_type="api_token", entity_id=token.pk,
          after={"name": token.name, "read_only": read_only, "require_signature": require_signature})
    return token, raw


def token_authenticate(raw: str) -> ApiToken | None:
    """The usable token whose secret is `raw`, or `None` (unknown, expired, revoked, or its
    user deactivated)."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = token_by_hash(_hash_token(raw))
    now = timezone.now()
    if token is None or not token.is_usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
        token_forget(token.key_hash)
    return token


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> None:
    """Revoke a token; revoking twice is harmless."""
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token_changed(token.key_hash)
    transaction.on_commit(partial(token_changed, token.key_hash))
    if updated:
        audit(actor=actor, action="token.revoke", entity_type="api_token", entity_id=token.pk)


@transaction.atomic
def tokens_revoke_all(*, user: User, reason: str) -> int:
    """Revoke every live token of `user` (their password changed: whoever knew the old one
    may have made tokens with it). Returns how many were revoked."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    hashes = list(live.values_list("key_hash", flat=True))
    if not hashes:
        return 0
    live.update(revoked_at=timezone.now())
    for key_hash in hashes:
        token_changed(key_hash)
    transaction.on_commit(lambda: [token_changed(key_hash) for key_hash in hashes])
    audit(actor=None, actor_username=user.username, action="token.revoke_all", entity_type="user",
          entity_id=user.username, after={"tokens": len(hashes), "reason": reason})
    return len(hashes)


# Signed requests (API.md, Authentication): how far a timestamp may be from now, and how long
# a signature is remembered so that it cannot be played again (the window on both sides).
SIGNATURE_WINDOW_SECONDS = 300
SIGNATURE_VERSION = "v1"
_SIGNATURE = re.compile(r"^v1=([0-9a-f]{64})$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def signature_of(secret: str, *, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The `X-TT-Signature` value a client sends: v1=<hex HMAC-SHA256(secret, timestamp \n
    METHOD \n path with query \n hex SHA-256 of the body)>."""
    message = "\n".join([timestamp, method.upper(), path, hashlib.sha256(body).hexdigest()])
    return f"{SIGNATURE_VERSION}={hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()}"


def token_check_signature(
    token: ApiToken, *, timestamp: str | None, signature: str | None, method: str, path: str, body: bytes,
    now: float | None = None,
) -> str | None:
    """Judge a request made with `token`: None when it may go on, else the error code
    (`signature_required`: unsigned; `invalid_signature`: malformed, wrong, outside the
    window or seen before). A token without a signing secret needs no signature."""
    if not token.signing_secret:
        return None
    if not timestamp and not signature:
        return "signature_required"
    if not timestamp or not signature or not _TIMESTAMP.match(timestamp) or not _SIGNATURE.match(signature):
        return "invalid_signature"
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return "invalid_signature"
    expected = signature_of(token.signing_secret, timestamp=timestamp, method=method, path=path, body=body)
    if not hmac.compare_digest(expected, signature):
        return "invalid_signature"
    # Seen before within the window: a replay. The key lives as long as a timestamp can be
    # accepted. Redis down (add answers None): the window alone bounds replays, and the
    # request goes on rather than every signed client being refused.
    if signature_seen(token.pk, signature, 2 * SIGNATURE_WINDOW_SECONDS) is True:
        return "invalid_signature"
    return None
