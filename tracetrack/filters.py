"""Filter pieces shared by the FilterSets."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class StrictBooleanField(forms.Field):
    """true/false (or 1/0, yes/no); anything else is an error, not silently ignored."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        normalized = str(value).strip().lower()
        if normalized in ("true", "1", "yes"):
            return True
        if normalized in ("false", "0", "no"):
            return False
        raise ValidationError(_("Enter true or false."))


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField
