"""API representations of users, areas and tokens."""

from rest_framework import serializers

from accounts.models import DispatchArea, Role, User


class AreaSerializer(serializers.ModelSerializer):
    class Meta:
        model = DispatchArea
        fields = ["code", "name"]


class MeSerializer(serializers.ModelSerializer):
    dispatch_area = serializers.CharField(source="dispatch_area.code", default=None, read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["username", "role", "dispatch_area", "email"]


class UserSerializer(serializers.ModelSerializer):
    dispatch_area = serializers.CharField(source="dispatch_area.code", default=None, read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = ["username", "email", "role", "dispatch_area", "is_active"]


class UserWriteSerializer(serializers.Serializer):
    """Creating (all of username, password, role) or changing a user (any field but
    username). Rules (own_role, last_admin, area for dispatchers) are the services'."""

    username = serializers.CharField(max_length=150, validators=[User.username_validator])
    email = serializers.EmailField(required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices)
    dispatch_area = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    read_only = serializers.BooleanField(required=False, default=False,
                                         help_text="the token may only read: any unsafe method is refused (403)")
    require_signature = serializers.BooleanField(
        required=False, default=False,
        help_text="every request made with the token must be signed (X-TT-Timestamp, X-TT-Signature)")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="shown once; store it")
    token_id = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    signing_secret = serializers.CharField(
        required=False, help_text="only for a token made with require_signature; shown once; store it")
