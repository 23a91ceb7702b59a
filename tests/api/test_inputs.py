"""tracetrack.api.inputs: input serializers share prebuilt fields, each instance binds copies."""

import pytest
from rest_framework import serializers

from scans.serializers import ChildScanInput, ParentScanInput, UndoInput
from tracetrack.api.inputs import InputSerializer


def test_each_instance_binds_its_own_copies_of_fields_built_once():
    first, second = ChildScanInput(data={}), ChildScanInput(data={})
    assert set(first.fields) == {"scan_id", "parent", "qr_id"}
    for name in first.fields:
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name
    # Built once per class: the validators (DRF builds them per field) are the prototype's.
    assert first.fields["qr_id"].validators is second.fields["qr_id"].validators
    # A subclass gets its own prototype, not its parent's.
    assert ParentScanInput(data={}).fields.keys() == {"scan_id", "qr_id", "dispatch_area"}


@pytest.mark.parametrize("serializer, data, errors", [
    (ChildScanInput, {"parent": "SB00001", "qr_id": "x"}, {"qr_id"}),
    (ChildScanInput, {"qr_id": "C1234"}, {"parent"}),
    (ChildScanInput, {"parent": "SB00001", "qr_id": "C" * 201, "scan_id": ""}, {"qr_id", "scan_id"}),
    (ParentScanInput, {"qr_id": "SB00001", "dispatch_area": "a" * 51}, {"dispatch_area"}),
    (UndoInput, {"parent": 5}, {"parent"}),
])
def test_validation_is_drfs_whatever_came_before(serializer, data, errors):
    """An instance validated after another's errors gives its own: no state is shared."""
    assert serializer(data={"qr_id": None, "parent": None}).is_valid() is False
    bound = serializer(data=data)
    assert bound.is_valid() is False
    assert set(bound.errors) == errors
    good = serializer(data={"parent": " sb00001 ", "qr_id": "sb00002" if serializer is ParentScanInput else "c1234"})
    assert good.is_valid(), good.errors
    assert good.validated_data.get("parent", "SB00001") == "SB00001"


def test_a_nested_serializer_is_refused():
    class Nested(InputSerializer):
        items = serializers.ListField(child=serializers.CharField())

    with pytest.raises(TypeError, match="plain fields only"):
        Nested(data={}).fields  # noqa: B018
