"""Bills (truck loads) and the parent bags on them."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from bags.models import Bag

# Database ceiling for a bill's capacity; BILL_CAPACITY_MAX (a setting) may not exceed it.
BILL_CAPACITY_CEILING = 100


class BillStatus(models.TextChoices):
    NEW = "new", _("New")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class Bill(models.Model):
    """One truck load. `parent_count` is kept exact by the bill services under a row
    lock; a completed bill is frozen until it is reopened."""

    bill_id = models.CharField(max_length=50, unique=True)
    destination = models.CharField(max_length=200)
    vehicle_number = models.CharField(max_length=50)
    description = models.CharField(max_length=2000, blank=True)
    capacity = models.PositiveSmallIntegerField()
    parent_count = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=11, choices=BillStatus.choices, default=BillStatus.NEW)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=BillStatus.values), name="bill_status_valid"),
            models.CheckConstraint(
                condition=Q(capacity__gte=1, capacity__lte=BILL_CAPACITY_CEILING), name="bill_capacity_range"
            ),
            models.CheckConstraint(condition=Q(parent_count__lte=F("capacity")), name="bill_not_over_capacity"),
            models.CheckConstraint(
                condition=Q(status=BillStatus.COMPLETED, completed_at__isnull=False)
                | (~Q(status=BillStatus.COMPLETED) & Q(completed_at__isnull=True)),
                name="bill_completed_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at"], name="bill_created"),
            models.Index(fields=["status", "-created_at"], name="bill_status_created"),
            models.Index(fields=["created_by", "-created_at"], name="bill_creator_created"),
            models.Index(fields=["completed_at"], name="bill_completed_at"),
        ]

    def __str__(self):
        return self.bill_id


    @property
    def is_completed(self) -> bool:
        return self.status == BillStatus.COMPLETED


# How long a bill's texts may be: the columns', read by the services, the API's input and
# the pages (one source).
BILL_TEXT_LIMITS = {name: Bill._meta.get_field(name).max_length for name in ("destination", "vehicle_number",
                                                                             "description")}


class BillBag(models.Model):
    """A parent bag on a bill. The unique parent column makes "one bill per parent" a
    database fact."""

    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="bill_bags", db_index=False)
    parent = models.OneToOneField(Bag, on_delete=models.CASCADE, related_name="bill_link")
    added_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["bill", "created_at"], name="billbag_bill_created"),
            # The end-of-day summary counts the parents added in a day, on every bill.
            models.Index(fields=["created_at"], name="billbag_created"),
        ]

    def __str__(self):
        parent = self.parent.qr_id if self._meta.get_field("parent").is_cached(self) else f"#{self.parent_id}"
        return f"{self.bill_id} ← {parent}"


class EodSummarySent(models.Model):
    """The end-of-day summary e-mail of one day, sent once: the row is claimed (primary key
    = the day) in the transaction that sends, so several beat or worker processes, or a
    command run by hand, cannot send it twice."""

    day = models.DateField(primary_key=True)
    sent_at = models.DateTimeField(default=timezone.now)
    recipients = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.day}: {self.recipients} recipients"
