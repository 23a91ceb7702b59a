"""Authentication backends."""

from django.contrib.auth.backends import ModelBackend

from accounts.selectors import session_user


class CachedModelBackend(ModelBackend):
    """Django's ModelBackend (passwords, permissions, inactive users refused), with the user
    of each session request read through the cache (`accounts.selectors.session_user`)."""

    def get_user(self, user_id):
        user = session_user(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
