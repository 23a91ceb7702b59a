"""Celery tasks of billing: thin, they call billing.eod."""

from billing.eod import send_eod_summary
from tracetrack.celery import app


@app.task(name="billing.send_eod_summary")
def send_eod_summary_task() -> int:
    return send_eod_summary().recipients
