"""The end-of-day summary e-mail to billers and admins (each may opt out: User.eod_summary).

Sent by Celery beat at EOD_SUMMARY_AT in TIME_ZONE (tracetrack/celery.py), or by
`manage.py send_eod_summary [--date]`. Once per day whatever runs it: the day's
EodSummarySent row is claimed in the transaction that sends, so a second sender waits for
the first one's commit and then finds the day done (or, if the first failed, sends)."""

import logging
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Role, User
from billing.models import EodSummarySent
from billing.selectors import bill_day_summary

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EodOutcome:
    day: date
    sent: bool
    recipients: int
    reason: str = ""


def eod_recipients() -> list[User]:
    return list(
        User.objects.filter(is_active=True, eod_summary=True, role__in=[Role.BILLER, Role.ADMIN])
        .exclude(email="").order_by("username")
    )


def send_eod_summary(*, day: date | None = None) -> EodOutcome:
    """E-mail the summary of `day` (default: today in TIME_ZONE) to every biller and admin
    who wants it, once per day (see the module docstring)."""
    day = day or timezone.localdate()
    try:
        with transaction.atomic():
            EodSummarySent.objects.create(day=day)  # waits here for another sender's commit
            recipients = eod_recipients()
            summary = bill_day_summary(day=day)
            context = {"summary": summary, "site_url": settings.SITE_URL.rstrip("/")}
            subject = f"TraceTrack end of day {day:%d %b %Y}: {summary.bills_completed} bills completed"
            text = render_to_string("emails/eod_summary.txt", context)
            html = render_to_string("emails/eod_summary.html", context)
            with get_connection() as connection:
                for user in recipients:  # one message each: nobody sees the others' addresses
                    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email],
                                                     connection=connection)
                    message.attach_alternative(html, "text/html")
                    message.send()
            EodSummarySent.objects.filter(day=day).update(recipients=len(recipients), sent_at=timezone.now())
    except IntegrityError:
        logger.info("end-of-day summary of %s: sent already", day)
        return EodOutcome(day=day, sent=False, recipients=0, reason="sent already")
    logger.info("end-of-day summary of %s sent to %d people", day, len(recipients))
    return EodOutcome(day=day, sent=True, recipients=len(recipients))
