"""Password hashing at shift start (accounts.hashers): Argon2id at OWASP's parameters, old
PBKDF2 hashes upgraded at login, and under gevent the hashing leaves the event loop free."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.contrib.auth.hashers import get_hasher, identify_hasher, make_password

from accounts.models import User

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def real_hashers(settings):
    settings.PASSWORD_HASHERS = ["accounts.hashers.Argon2idHasher", "accounts.hashers.PBKDF2Hasher"]


def test_new_passwords_are_argon2id_at_owasp_parameters(real_hashers):
    encoded = make_password("a long passphrase")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert get_hasher("default").verify("a long passphrase", encoded)


def test_a_pbkdf2_hash_verifies_and_is_upgraded_at_login(real_hashers, client, lucknow):
    old = make_password("a long passphrase", hasher="pbkdf2_sha256")
    user = User.objects.create(username="old_timer", password=old, role="biller")
    assert identify_hasher(user.password).algorithm == "pbkdf2_sha256"
    assert client.post("/login/", {"username": "old_timer", "password": "a long passphrase"}).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


GEVENT_PROBE = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import json, os, time
    import django
    django.setup()
    import gevent
    from django.contrib.auth.hashers import make_password, check_password
    import accounts.hashers as hashers

    encoded = make_password("a long passphrase", hasher=os.environ["PROBE_HASHER"])
    running, peak, ticks = [0], [0], []
    inner = hashers.Argon2idHasher.__mro__[1].verify, hashers.PBKDF2Hasher.__mro__[1].encode

    def watch(original):
        def run(*args, **kwargs):
            running[0] += 1  # counted in the pool's threads: the gate is what bounds it
            peak[0] = max(peak[0], running[0])
            try:
                return original(*args, **kwargs)
            finally:
                running[0] -= 1
        return run

    hashers.Argon2idHasher.__mro__[1].verify = watch(inner[0])
    hashers.PBKDF2Hasher.__mro__[1].encode = watch(inner[1])

    def ticker(until):
        while time.monotonic() < until:
            ticks.append(time.monotonic())
            gevent.sleep(0.005)

    start = time.monotonic()
    logins = [gevent.spawn(check_password, "a long passphrase", encoded) for _ in range(6)]
    tick = gevent.spawn(ticker, start + 10)
    gevent.joinall(logins)
    elapsed = time.monotonic() - start
    tick.kill()
    during = [t for t in ticks if t < start + elapsed]
    gaps = [b - a for a, b in zip(during, during[1:])]
    print(json.dumps({"ok": all(g.value for g in logins), "elapsed": elapsed, "ticks": len(during),
                      "longest_gap": max(gaps) if gaps else elapsed, "peak": peak[0]}))
""")


@pytest.mark.parametrize("hasher", ["argon2", "pbkdf2_sha256"])
def test_under_gevent_hashing_leaves_the_event_loop_free(hasher):
    """Six logins at once in one gevent worker: the loop keeps ticking every few ms while they
    hash (in place, a PBKDF2 hash would stop it ~0.2 s each), and no more than
    PASSWORD_HASH_CONCURRENCY hash at once."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tracetrack.settings", "DEBUG": "1", "PROBE_HASHER": hasher,
           "PASSWORD_HASH_CONCURRENCY": "2", "DATABASE_URL": "sqlite:///:memory:"}
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", GEVENT_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["ok"]
    assert result["peak"] == 2, result
    assert result["longest_gap"] < 0.1, result  # blocked, it would be one hash long or more
    assert result["ticks"] >= result["elapsed"] / 0.05, result
