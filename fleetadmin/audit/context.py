"""Where an audited change came from: the request being served, if any.

The request-id middleware binds a RequestContext for the duration of a request,
so services can stay free of HttpRequest while audit.record() still stores the
request id, client address and user agent with every event.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    ticket: str = ""


_current: ContextVar[RequestContext | None] = ContextVar("fleetadmin_request_context", default=None)


def current_request_context() -> RequestContext:
    return _current.get() or RequestContext()


@contextmanager
def bind_request_context(context: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
