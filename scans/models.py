"""The scan event log."""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import DispatchArea, User
from bags.models import Bag


class ScanKind(models.TextChoices):
    PARENT = "parent", _("Parent")
    CHILD = "child", _("Child")


class Scan(models.Model):
    """One accepted scan: a parent scan (new or existing parent) or a child scan that made
    a link. Never deleted by normal operation; an undo sets `undone_at`. The bag and parent
    codes are kept as text so that the row outlives a deleted bag."""

    scan_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=6, choices=ScanKind.choices)
    bag = models.ForeignKey(Bag, null=True, blank=True, on_delete=models.SET_NULL, related_name="scans")
    qr_id = models.CharField(max_length=64)
    parent = models.ForeignKey(Bag, null=True, blank=True, on_delete=models.SET_NULL, related_name="child_scans")
    parent_qr = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="scans", db_index=False)
    dispatch_area = models.ForeignKey(
        DispatchArea, null=True, blank=True, on_delete=models.PROTECT, related_name="scans", db_index=False
    )
    timestamp = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    # The child bag did not exist before this scan: undoing the scan deletes it again.
    created_bag = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ScanKind.values), name="scan_kind_valid"),
            models.CheckConstraint(
                condition=Q(kind=ScanKind.PARENT, parent_qr="", undone_at__isnull=True)
                | (Q(kind=ScanKind.CHILD) & ~Q(parent_qr="")),
                name="scan_parent_qr_matches_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["-timestamp"], name="scan_time"),
            models.Index(fields=["user", "-timestamp"], name="scan_user_time"),
            models.Index(fields=["dispatch_area", "-timestamp"], name="scan_area_time"),
            # `?bag=` and `?parent=` of GET /scans/ match the codes kept on the row.
            models.Index(fields=["qr_id", "-timestamp"], name="scan_code_time"),
            models.Index(fields=["parent_qr", "-timestamp"], name="scan_parent_code_time", condition=~Q(parent_qr="")),
        ]

    def __str__(self):
        return f"{self.kind} {self.qr_id}" + (f" → {self.parent_qr}" if self.parent_qr else "")
