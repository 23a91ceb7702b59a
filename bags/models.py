"""Bags and the parent → child links between them."""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import DispatchArea, User

# The database refuses a child_count above this; PARENT_CAPACITY (a setting) may be set
# anywhere up to it without a migration.
PARENT_CAPACITY_CEILING = 100


class BagKind(models.TextChoices):
    PARENT = "parent", _("Parent")
    CHILD = "child", _("Child")


class BagStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class Bag(models.Model):
    """A bag with a QR label. A parent holds up to PARENT_CAPACITY children and carries
    their number in `child_count` (kept exact by the scan services). A child is `pending`
    until it is linked to a parent, then `completed`. A bag's kind never changes."""

    qr_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=6, choices=BagKind.choices)
    status = models.CharField(max_length=11, choices=BagStatus.choices, default=BagStatus.PENDING)
    dispatch_area = models.ForeignKey(
        DispatchArea, null=True, blank=True, on_delete=models.PROTECT, related_name="bags", db_index=False
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    child_count = models.PositiveSmallIntegerField(default=0)
    # Held closed by what holds the parent (bags.holders; billing: on a completed bill), so
    # that it cannot change (DESIGN.md rule 6). Kept on the row itself so that the scan
    # that locks the parent reads it in the same statement, as of the lock: the holder
    # sets it with the parent locked.
    frozen = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=BagKind.values), name="bag_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=BagStatus.values), name="bag_status_valid"),
            models.CheckConstraint(
                condition=Q(child_count__gte=0, child_count__lte=PARENT_CAPACITY_CEILING),
                name="bag_child_count_range",
            ),
            models.CheckConstraint(
                condition=Q(kind=BagKind.PARENT)
                | Q(child_count=0, status__in=[BagStatus.PENDING, BagStatus.COMPLETED]),
                name="bag_child_shape",
            ),
            models.CheckConstraint(condition=Q(qr_id=Upper(F("qr_id"))), name="bag_qr_id_upper"),
            models.CheckConstraint(condition=Q(frozen=False) | Q(kind=BagKind.PARENT), name="bag_frozen_parent"),
        ]
        # On PostgreSQL only, from migrations (SQLite has no such index types): the pending
        # children (0002) and a trigram index on qr_id for the admin's search by any part
        # of a code (0005).
        indexes = [
            models.Index(fields=["-created_at"], name="bag_created"),
            models.Index(fields=["dispatch_area", "-created_at"], name="bag_area_created"),
            models.Index(fields=["kind", "status", "-created_at"], name="bag_kind_status_created"),
            # Parents, newest first, across all their statuses (the `kind=parent` and
            # `billed` lists): a few percent of the bags, so a small partial index.
            models.Index(fields=["-created_at"], condition=Q(kind=BagKind.PARENT), name="bag_parent_created"),
        ]

    def __str__(self):
        return self.qr_id

    @property
    def is_parent(self) -> bool:
        return self.kind == BagKind.PARENT


class Link(models.Model):
    """Parent → child. The unique child column makes "one parent per child" a database
    fact, whatever the concurrency."""

    parent = models.ForeignKey(Bag, on_delete=models.CASCADE, related_name="child_links", db_index=False)
    child = models.OneToOneField(Bag, on_delete=models.CASCADE, related_name="parent_link")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("child")), name="link_not_self"),
        ]
        indexes = [models.Index(fields=["parent", "created_at"], name="link_parent_created")]

    def __str__(self):
        # The codes when they were read with the link (the admin's inline joins them), else
        # the ids: a str() never costs a query.
        def code(name, pk):
            field = self._meta.get_field(name)
            return getattr(self, name).qr_id if field.is_cached(self) else f"#{pk}"

        return f"{code('parent', self.parent_id)} → {code('child', self.child_id)}"
