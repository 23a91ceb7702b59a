"""The client IP and request id of the request being served, for audit rows.

A context variable rather than a thread-local, so that it is right under gevent too.
"""

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""
    request: object = None

    @property
    def user(self):
        """The signed-in user of the request being served, or None."""
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("tracetrack_request", default=None)


def bind(*, ip: str | None, request_id: str, request=None) -> Token:
    return _current.set(RequestContext(ip=ip, request_id=request_id, request=request))


def reset(token: Token) -> None:
    _current.reset(token)


def current() -> RequestContext:
    return _current.get() or _EMPTY
