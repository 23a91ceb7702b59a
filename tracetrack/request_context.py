"""The client IP and request id of the request being served, for audit rows.

A context variable rather than a thread-local, so that it is right under gevent too.
"""

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("tracetrack_request", default=None)


def bind(*, ip: str | None, request_id: str) -> Token:
    return _current.set(RequestContext(ip=ip, request_id=request_id))


def reset(token: Token) -> None:
    _current.reset(token)


def current() -> RequestContext:
    return _current.get() or _EMPTY
