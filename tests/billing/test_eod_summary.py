"""The end-of-day summary e-mail (billing.eod): to billers and admins who want it, HTML and
text, once per day however many senders; the command and the beat schedule."""

import threading

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.services import user_set_eod_summary
from billing.eod import send_eod_summary
from billing.models import EodSummarySent
from billing.services import bill_add_parent, bill_complete, bill_create
from tests.helpers import fill_parent


@pytest.fixture
def people(make_user, dispatcher):
    from accounts.services import user_update

    made = {}
    for role, name in (("biller", "billie"), ("admin", "ada"), ("biller", "quiet"), ("biller", "noemail")):
        user = make_user(role, username=name)
        if name != "noemail":
            user = user_update(actor=None, target=user, email=f"{name}@example.com")
        made[name] = user
    user_update(actor=None, target=dispatcher, email="disp@example.com")
    user_set_eod_summary(user=made["quiet"], wanted=False)
    return made


@pytest.mark.django_db
def test_the_summary_goes_to_billers_and_admins_who_want_it_in_html_and_text(people, dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    bill_create(user=people["billie"], bill_id="TRUCK-1", capacity=1, destination="Delhi", vehicle_number="DL01")
    bill_add_parent(user=people["billie"], bill_id="TRUCK-1", parent_qr="SB00001")
    bill_complete(user=people["billie"], bill_id="TRUCK-1")
    outcome = send_eod_summary()
    assert outcome.sent and outcome.recipients == 2
    assert sorted(message.to[0] for message in mail.outbox) == ["ada@example.com", "billie@example.com"]
    message = mail.outbox[0]
    assert "1 bills completed" in message.subject
    assert "Bills completed:  1" in message.body and "30.0 kg of 30.0 kg" in message.body
    (html, kind), = message.alternatives
    assert kind == "text/html" and "<table" in html and "billie" in html


@pytest.mark.django_db
def test_a_second_send_the_same_day_sends_nothing(people):
    assert send_eod_summary().sent
    again = send_eod_summary()
    assert not again.sent and again.reason == "sent already" and len(mail.outbox) == 2
    assert EodSummarySent.objects.get().recipients == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_it_once(people):
    """Two beat (or worker) processes firing together: one sends, the other finds it done."""
    from django.db import connections

    outcomes = []
    barrier = threading.Barrier(2)

    def sender():
        barrier.wait()
        try:
            outcomes.append(send_eod_summary())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcome.sent for outcome in outcomes) == [False, True]
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_command_takes_a_date(people, capsys):
    call_command("send_eod_summary", "--date", "2026-01-02")
    assert "Summary of 2026-01-02 sent to 2 people." in capsys.readouterr().out
    assert "02 Jan 2026" in mail.outbox[0].subject
    call_command("send_eod_summary", "--date", "2026-01-02")
    assert "not sent: sent already" in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("send_eod_summary", "--date", "yesterday")


@pytest.mark.django_db
def test_the_home_page_lets_a_biller_opt_out(client, people):
    client.force_login(people["billie"])
    assert b"E-mail me the end-of-day summary" in client.get("/").content
    client.post("/account/eod-summary/", {})
    people["billie"].refresh_from_db()
    assert people["billie"].eod_summary is False
    client.post("/account/eod-summary/", {"eod_summary": "on"})
    people["billie"].refresh_from_db()
    assert people["billie"].eod_summary is True


def test_beat_sends_it_at_eod_summary_at_in_the_local_zone(settings):
    from tracetrack.celery import app

    app.finalize()
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule["eod-summary"]
    assert schedule["task"] == "billing.send_eod_summary"
    assert schedule["schedule"].hour == {20} and schedule["schedule"].minute == {0}
    assert app.conf.timezone == settings.TIME_ZONE == "Asia/Kolkata"
    assert "billing.send_eod_summary" in app.tasks and "backoffice.run_job" in app.tasks
