"""What is known about the request being served, for code that has no request in hand:
the client IP and request id (audit rows, log lines, error bodies), and what the request
has spent so far on the database and the cache (the request's log line, Server-Timing).

A context variable rather than a thread-local, so that it is right under gevent too.
Outside a request (a management command, a job) the process's own context applies.
"""

from contextvars import ContextVar, Token
from dataclasses import dataclass, field


@dataclass
class Usage:
    """Time and calls spent on the database and the cache by one request (or command)."""

    db_seconds: float = 0.0
    db_queries: int = 0
    cache_seconds: float = 0.0
    cache_calls: int = 0


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""
    request: object = None
    usage: Usage = field(default_factory=Usage)
    prefetched: dict = field(default_factory=dict)

    @property
    def user(self):
        """The signed-in user of the request being served, or None."""
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


_process = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("tracetrack_request", default=None)


def bind(*, ip: str | None, request_id: str, request=None) -> Token:
    return _current.set(RequestContext(ip=ip, request_id=request_id, request=request))


def reset(token: Token) -> None:
    _current.reset(token)


def bind_process(*, request_id: str) -> None:
    """The context of everything this process does outside a request: a management
    command's log lines and audit rows carry its run's id."""
    global _process
    _process = RequestContext(request_id=request_id)


def current() -> RequestContext:
    return _current.get() or _process


# Cache entries read ahead by the request being served (one round trip for several reads,
# e.g. the session with its user: accounts.sessions), each taken once by the read it was
# fetched for. Outside a request nothing is kept: a value read ahead there could be taken
# much later, stale.
_NOTHING = object()


def prefetch(values: dict) -> None:
    context = _current.get()
    if context is not None:
        context.prefetched.update(values)


def prefetched(key: str, default=_NOTHING):
    """The value read ahead under `key` (removed), else `default` (NOTHING)."""
    context = _current.get()
    return context.prefetched.pop(key, default) if context is not None else default


NOTHING = _NOTHING
