"""Password hashing that a shift-start login storm cannot turn into an outage.

Two choices (README: Security, "Login storms"; `make bench` stage `logins`):

- **Argon2id at OWASP's recommended minimum** (19 MiB, 2 passes, 1 lane), which Django
  recommends as its first choice: ~17 ms of CPU a hash here, against ~210 ms for Django's
  PBKDF2 (1,000,000 iterations) and ~180 ms for Django's own Argon2 settings (100 MiB,
  8 lanes), with memory-hardness that PBKDF2 lacks. Hashes made before (PBKDF2) still verify
  and are rewritten as Argon2id at the user's next login (Django's `must_update`).
- **Off the event loop, a few at a time.** Under gevent a hash run in the worker's own
  thread stops every other request of that worker for its duration; here it runs in gevent's
  thread pool (argon2-cffi and hashlib release the GIL while they hash), so the worker keeps
  answering scans meanwhile. At most PASSWORD_HASH_CONCURRENCY hashes run at once per
  worker (the others wait their turn cooperatively), which bounds the memory (19 MiB each)
  and the CPU a burst of logins can take from the scans. Outside gevent (sync workers,
  runserver, tests) it hashes in place: there the worker serves one request at a time anyway.
"""

import threading
from functools import partial

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher

_gate = None
_gate_lock = threading.Lock()


def _gevent_hub():
    """The gevent hub when this process runs under gevent's monkey-patching, else None."""
    try:
        from gevent import get_hub, monkey
    except ImportError:  # pragma: no cover - gevent is in requirements.txt
        return None
    return get_hub() if monkey.is_module_patched("threading") else None


def off_the_loop(work):
    """`work()`, in gevent's thread pool (one of PASSWORD_HASH_CONCURRENCY at a time) when
    under gevent, else right here. Called from the event loop's thread only: the hashers
    below wrap no method that another wrapped method calls."""
    hub = _gevent_hub()
    if hub is None:
        return work()
    global _gate
    if _gate is None:
        with _gate_lock:
            if _gate is None:
                from gevent.lock import BoundedSemaphore

                _gate = BoundedSemaphore(settings.PASSWORD_HASH_CONCURRENCY)
    with _gate:
        return hub.threadpool.apply(work)


class Argon2idHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (same `argon2$argon2id$…` format) at OWASP's parameters."""

    time_cost = 2
    memory_cost = 19456  # KiB: 19 MiB
    parallelism = 1

    def encode(self, password, salt):
        return off_the_loop(partial(super().encode, password, salt))

    def verify(self, password, encoded):
        return off_the_loop(partial(super().verify, password, encoded))


class PBKDF2Hasher(PBKDF2PasswordHasher):
    """Django's PBKDF2, for the hashes made before Argon2id (verified, then upgraded). Its
    `verify` and `harden_runtime` hash through `encode`, so that is the one moved."""

    def encode(self, password, salt, iterations=None):
        return off_the_loop(partial(super().encode, password, salt, iterations))
