"""Request-body serializers that are built on every scan.

DRF gives each serializer instance its own fields by deep-copying the declared ones, and a
field's deep copy builds it again from its arguments (`Field.__deepcopy__`): validators,
error messages and all, for every field of every request. A flat input serializer keeps no
per-request state in its fields until it binds them (name and parent), so `InputSerializer`
builds them once per class and gives each instance shallow copies to bind: the same
fields, validated the same way (issue 16: the scan bodies' fields were 3 % of a scan's CPU).
Only for serializers whose fields are plain fields — a nested serializer or a list of them
has children of its own, and keeps DRF's deep copy."""

import copy

from rest_framework import serializers


class InputSerializer(serializers.Serializer):
    def get_fields(self):
        cls = type(self)
        prototype = cls.__dict__.get("_prototype_fields")
        if prototype is None:
            prototype = copy.deepcopy(self._declared_fields)
            for name, field in prototype.items():
                if isinstance(field, serializers.BaseSerializer | serializers.ListField | serializers.DictField):
                    raise TypeError(f"{cls.__name__}.{name}: InputSerializer holds plain fields only")
                field.validators  # noqa: B018 - built now, once, and shared by the copies
            cls._prototype_fields = prototype
        return {name: copy.copy(field) for name, field in prototype.items()}
