"""Run service calls in real threads, each with its own database connection."""

import threading
from collections import Counter

from django.db import connections

from tracetrack.errors import ServiceError


def race(count: int, call) -> tuple[list, Counter]:
    """Start `count` threads that wait at a barrier, then each run `call(i)` at once.
    Returns the successful results and a Counter of refusal codes."""
    barrier = threading.Barrier(count)
    results, codes, crashes = [], Counter(), []
    lock = threading.Lock()

    def worker(i):
        try:
            barrier.wait(timeout=30)
            outcome = call(i)
            with lock:
                results.append(outcome)
        except ServiceError as exc:
            with lock:
                codes[exc.code] += 1
        except Exception as exc:  # a crash is a failed test, reported below
            with lock:
                crashes.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not crashes, crashes
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, codes
