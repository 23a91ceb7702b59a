"""Form pieces shared by the login pages."""

from django.contrib.auth import get_user_model
from django.core.validators import MaxLengthValidator


class BoundedUsernameMixin:
    """Django's AuthenticationForm sets its username field's `max_length` after the field is
    built, so the length is never checked and any username reaches `authenticate` — and
    the tables that record a login attempt (django-axes, the audit log), which refuse a
    value longer than their column with a database error. A longer username is a form
    error here instead."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = get_user_model()._meta.get_field("username").max_length
        self.fields["username"].validators.append(MaxLengthValidator(limit))
