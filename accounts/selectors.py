"""Reads about users and areas."""

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import ApiToken, DispatchArea, Role, User
from tracetrack import metrics, request_context
from tracetrack.errors import NotFound, invalid


def normalize_area_code(raw) -> str:
    """Area codes are matched after trimming and lower-casing (`lucknow`)."""
    return str(raw if raw is not None else "").strip().lower()


def area_by_code(code: "str | DispatchArea | None", *, field: str = "dispatch_area") -> DispatchArea | None:
    """The area named by `code` (trimmed, case-insensitive); `None` for an empty value.
    An unknown code is a 400 on `field`."""
    if code is None or isinstance(code, DispatchArea):
        return code
    normalized = normalize_area_code(code)
    if not normalized:
        return None
    area = DispatchArea.objects.filter(code=normalized).first()
    if area is None:
        raise invalid(field, _("Unknown dispatch area %(code)s.") % {"code": repr(normalized)})
    return area


def user_get(*, username: str) -> User:
    user = User.objects.select_related("dispatch_area").filter(username=username.strip()).first()
    if user is None:
        raise NotFound(detail=_("No user %(username)s.") % {"username": repr(username.strip())})
    return user


def active_admins() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role=Role.ADMIN)


def users_for_listing() -> QuerySet[User]:
    return User.objects.select_related("dispatch_area")


# The signed-in user, loaded on every request that carries a session: kept in the cache for
# the profile TTL (DESIGN.md's 5 minutes) instead of a database query per request. Any save
# or delete of the user replaces the entry with a marker (accounts.signals), at once and
# again at commit; while the marker lives, requests read the database and store nothing, so
# a request that read the row just before a change cannot put the old row back.
SESSION_USER_TTL = 300
SESSION_USER_CHANGED_TTL = 30
_CHANGED = "changed"


def session_user_key(user_id) -> str:
    return f"session-user:{user_id}"


def _through_cache(key: str, read: str, kind: type, load):
    """The cached `kind` instance under `key`, else `load()`'s, stored unless a change
    marker is there (see above); counted in `tracetrack_cache_reads_total` as `read`. An
    entry the request read ahead (with its session: accounts.sessions) is used as read."""
    found = request_context.prefetched(key)
    if found is request_context.NOTHING:
        found = cache.get(key)
    if isinstance(found, kind):
        metrics.CACHE_READS.labels(read, "hit").inc()
        return found
    metrics.CACHE_READS.labels(read, "miss").inc()
    value = load()
    if value is not None and found is None:
        cache.add(key, value, SESSION_USER_TTL)
    return value


def session_user(user_id) -> User | None:
    """The user a session names, as `ModelBackend.get_user` loads it, through the cache."""
    return _through_cache(session_user_key(user_id), "session_user", User,
                          lambda: User.objects.select_related("dispatch_area").filter(pk=user_id).first())


def session_user_changed(user_id) -> None:
    """The user was saved or deleted: no request may serve the cached copy any more."""
    cache.set(session_user_key(user_id), _CHANGED, SESSION_USER_CHANGED_TTL)


def area_users_changed(area_id) -> None:
    """The area was renamed: its users' cached copies, and their tokens' (which hold the
    user), show the old code. Two statements and one cache round trip, whatever the count."""
    user_ids = list(User.objects.filter(dispatch_area_id=area_id).values_list("pk", flat=True))
    hashes = ApiToken.objects.filter(user_id__in=user_ids).values_list("key_hash", flat=True)
    cache.set_many({**{session_user_key(pk): _CHANGED for pk in user_ids},
                    **{_token_key(key_hash): _CHANGED for key_hash in hashes}}, SESSION_USER_CHANGED_TTL)


# An API token, found by the hash of its secret on every request that carries it: cached the
# same way, with its user (one round trip), replaced by the marker when the token is saved,
# deleted or revoked, or its user changes (accounts.signals, accounts.services.token_revoke).
def _token_key(key_hash: str) -> str:
    return f"api-token:{key_hash}"


def token_by_hash(key_hash: str) -> ApiToken | None:
    """The token whose secret hashes to `key_hash`, with its user, through the cache; None
    when there is none (usability is the caller's to judge)."""
    return _through_cache(
        _token_key(key_hash), "api_token", ApiToken,
        lambda: ApiToken.objects.select_related("user", "user__dispatch_area").filter(key_hash=key_hash).first(),
    )


def tokens_of_user_changed(user_id) -> None:
    """The user was saved or deleted: their tokens' cached copies (which hold the user) go."""
    hashes = ApiToken.objects.filter(user_id=user_id).values_list("key_hash", flat=True)
    cache.set_many({_token_key(key_hash): _CHANGED for key_hash in hashes}, SESSION_USER_CHANGED_TTL)


def token_changed(key_hash: str) -> None:
    cache.set(_token_key(key_hash), _CHANGED, SESSION_USER_CHANGED_TTL)


def token_forget(key_hash: str) -> None:
    """The cached row is out of date (its last use was written): the next request reads it
    again. A change since is covered by its marker, set again at that change's commit."""
    cache.delete(_token_key(key_hash))


def signature_seen(token_id: int, signature: str, ttl: int) -> bool | None:
    """Remember a signed request's signature; True when it was already remembered (a replay),
    None when the cache could not be asked (Redis down)."""
    added = cache.add(f"api-sig:{token_id}:{signature}", 1, ttl)
    return None if added is None else not added
