"""The client IP and request id of the request being served, for audit rows.

A context variable rather than a thread-local, so that it is right under gevent too.
"""

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""


_current: ContextVar[RequestContext] = ContextVar("tracetrack_request", default=RequestContext())


def bind(*, ip: str | None, request_id: str) -> Token:
    return _current.set(RequestContext(ip=ip, request_id=request_id))


def reset(token: Token) -> None:
    _current.reset(token)


def current() -> RequestContext:
    return _current.get()
