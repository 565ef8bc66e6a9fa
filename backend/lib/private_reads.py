"""Private stored answers sent right after the token is verified (issue 24: reads at the speed of the framework).

The apps poll two private reads (the courier's route, a caller's inbox) with ``If-None-Match``. Their answers are
kept by ``backend.lib.answer_cache`` as private entries keyed by the signed-in account, but a repeat still went
through Litestar's dependency injection (a database session per request), the handler and a ``Response`` object
to send stored bytes: about three times the cost of a public stored answer, sent by ``PublicReadMiddleware``
before anything else runs.

``PrivateReadMiddleware`` is the last of the app's middleware, so it runs after ``BearerAuthMiddleware`` has
verified the token and refused a revoked one, an account changed or an organisation deactivated. A route handler
opts in with ``opt={OPT: stored}``, where ``stored(request, principal)`` returns the stored entry that this
request may be sent *as is* (a 200 of its bytes, or a 304 when ``If-None-Match`` names it) or None. Only then,
and only after the handler's guards admit the caller (``authorize_connection``, Litestar's own check), the
middleware sends it; otherwise (no entry, a query it does not read plainly, an answer that must first be
recorded in the personal-data audit) the request goes on to the handler as before, which answers it the same
way it always did. So the fast path never decides anything the handler would decide differently: it only skips
work whose outcome is known.

``plain_query`` reads a query string only in the plain forms the apps send (each name at most once, only names
the read knows); anything else is left to the handler's validation, which gives the 400 problem.
"""

import re
from collections.abc import Callable, Collection
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from backend.lib import answer_cache
from backend.lib.auth import Principal

OPT = "private_read"  # route opt: the handler's ``stored(request, principal) -> Entry | None``

Stored = Callable[[Request[Any, Any, Any], Principal], answer_cache.Entry | None]

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNT = re.compile(r"[0-9]{1,9}")


def plain_query(scope: Scope, names: Collection[str]) -> dict[str, str] | None:
    """The query's parameters when each is one of ``names`` and given once; None otherwise."""
    raw = bytes(scope.get("query_string", b""))
    if not raw:
        return {}
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in names or name in found:
            return None
        found[name] = value
    return found


def plain_day(text: str) -> date | None:
    """``YYYY-MM-DD`` as a date; None for any other form (the handler's validation decides those)."""
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def plain_count(text: str | None, default: int, low: int, high: int) -> int | None:
    """A non-negative integer in ``[low, high]`` written in digits (``default`` when absent); None otherwise."""
    if text is None:
        return default
    if not _COUNT.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def plain_flag(text: str | None) -> bool | None:
    """``true``/``false`` (False when absent); None for any other spelling."""
    if text is None or text == "false":
        return False
    return True if text == "true" else None


class PrivateReadMiddleware(ASGIMiddleware):
    """Last of the app's middleware: a private read's stored answer, when it may be sent as is (see above)."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope.get("route_handler")
        stored: Stored | None = handler.opt.get(OPT) if handler is not None else None
        principal = scope.get("user")
        if stored is None or scope.get("method") != "GET" or not isinstance(principal, Principal):
            await next_app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope)
        await handler.authorize_connection(request)  # the handler's guards, as Litestar runs them (403)
        entry = stored(request, principal)
        if entry is None or not entry.private:  # only a private entry keyed by this caller (fail closed)
            await next_app(scope, receive, send)
            return
        await answer_cache.send_entry(scope, send, entry)
