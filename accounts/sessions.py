"""The session store with Redis: Django's `cached_db` (sessions read from the cache, written
through to the database, so logins survive a Redis outage), reading the session's user in
the same round trip (issue 16: a round trip less on every signed-in request).

A session names its user for as long as it lives (a login makes a new session key), so the
process remembers, per session key, the user the session named when it last loaded it, and
asks the cache for the session and that user's entry (`accounts.selectors.session_user`) at
once. The user's entry is only read ahead: `session_user` takes it for the user id the
session actually holds, and judges it as it would its own read (the change marker included).
A session this process has not seen yet, or one whose cache entry is gone, loads as
`cached_db` loads it.
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore

from accounts.selectors import session_user_key
from tracetrack import request_context

# Session key → the user id its data held; bounded (emptied when full: the next load of
# each session fills it again).
_USER_OF: dict[str, str] = {}
_REMEMBERED = 100_000


class SessionStore(CachedDbSessionStore):
    def load(self):
        user_id = _USER_OF.get(self.session_key) if self.session_key else None
        data = None
        if user_id is not None:
            user_key = session_user_key(user_id)
            try:
                found = self._cache.get_many([self.cache_key, user_key]) or {}
            except Exception:  # noqa: BLE001 - as cached_db: a cache that fails reads the database
                found = {}
            data = found.get(self.cache_key)
            if user_key in found:
                request_context.prefetch({user_key: found[user_key]})
        if data is None:
            data = super().load()
        self._remember(data)
        return data

    def _remember(self, data) -> None:
        user_id = data.get(SESSION_KEY) if isinstance(data, dict) else None
        if user_id is None or not self.session_key:
            return
        if len(_USER_OF) >= _REMEMBERED:
            _USER_OF.clear()
        _USER_OF[self.session_key] = user_id
