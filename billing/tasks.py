"""Celery tasks of billing: thin, they call billing.eod."""

from celery import shared_task

from billing.eod import send_eod_summary


@shared_task(name="billing.send_eod_summary")
def send_eod_summary_task() -> int:
    return send_eod_summary().recipients
