"""Users, roles, dispatch areas, API tokens and the audit log."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DispatchArea(models.Model):
    """A warehouse area that dispatchers work in (`lucknow`, `indore`, …)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    BILLER = "biller", _("Biller")
    DISPATCHER = "dispatcher", _("Dispatcher")


class TraceTrackUserManager(UserManager):
    """`createsuperuser` makes an admin: a superuser always carries the admin role."""

    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields["role"] = Role.ADMIN
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in. `role` decides what they may do; dispatchers also have the
    one `dispatch_area` they work in. Role changes go through `accounts.services`."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DISPATCHER)
    dispatch_area = models.ForeignKey(
        DispatchArea, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    # Billers and admins get the end-of-day summary by e-mail unless they opt out.
    eod_summary = models.BooleanField("e-mail me the end-of-day summary", default=True)
    # The language of the pages for this user, whatever the phone's; blank: the browser's.
    language = models.CharField(max_length=8, blank=True, default="", choices=settings.LANGUAGES)

    objects = TraceTrackUserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=~Q(role=Role.DISPATCHER) | Q(dispatch_area__isnull=False),
                name="user_dispatcher_has_area",
            ),
            models.CheckConstraint(
                condition=Q(is_superuser=False) | Q(role=Role.ADMIN),
                name="user_superuser_is_admin",
            ),
        ]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_dispatcher(self) -> bool:
        return self.role == Role.DISPATCHER


class ApiToken(models.Model):
    """A named bearer token for programs. Only a SHA-256 hash of the secret is stored; the
    secret itself is shown once, when the token is made."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12, help_text="The first characters of the token, to recognise it.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    read_only = models.BooleanField(default=False, help_text="The token may only read (GET, HEAD, OPTIONS).")
    # HMAC key of signed requests (API.md, Signed requests); empty: the token signs nothing.
    # It is kept as it is because the server must compute the same HMAC; a copy of the
    # database still cannot make a request with it, as the bearer secret is only hashed here.
    signing_secret = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="apitoken_user_created")]

    def __str__(self):
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def require_signature(self) -> bool:
        return bool(self.signing_secret)

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.user.is_active


class AuditLog(models.Model):
    """Who changed what, when and from where. Written by the services inside the
    transaction of the change, so a rolled-back change leaves no audit row."""

    timestamp = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=50)
    entity_type = models.CharField(max_length=50)
    # As long as the longest key it names: a username (150).
    entity_id = models.CharField(max_length=150, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["-timestamp"], name="audit_timestamp"),
            models.Index(fields=["entity_id", "entity_type"], name="audit_entity"),
            models.Index(fields=["actor", "-timestamp"], name="audit_actor_time"),
            models.Index(fields=["action", "-timestamp"], name="audit_action_time"),
            models.Index(fields=["entity_type", "-timestamp"], name="audit_entity_type_time"),
        ]

    def __str__(self):
        return f"{self.timestamp:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.entity_type}:{self.entity_id}"
