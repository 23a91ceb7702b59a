"""The Celery application: `celery -A tracetrack worker` and `celery -A tracetrack beat`.

Configured from the Django settings (CELERY_*); tasks are found in each app's tasks.py.
The periodic tasks (beat) are listed here: the end-of-day summary e-mail at EOD_SUMMARY_AT
in TIME_ZONE, and the reaper of import jobs whose worker stopped.
"""

import os

from celery import Celery
from celery.schedules import crontab
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracetrack.settings")

app = Celery("tracetrack")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender, **kwargs):
    hour, minute = settings.EOD_SUMMARY_AT
    sender.conf.beat_schedule = {
        "eod-summary": {"task": "billing.send_eod_summary", "schedule": crontab(hour=hour, minute=minute)},
        "reap-stale-jobs": {"task": "backoffice.reap_stale_jobs", "schedule": 60.0},
    }
