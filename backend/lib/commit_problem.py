"""The answer of a request whose commit failed after its handler returned a 2xx (``backend.db``'s
``finish_session_handler`` turns the answer into this problem instead of letting the 2xx go out)."""

from typing import Any

from litestar import Request, Response
from litestar.types import Scope

from backend.lib import problems
from backend.lib.problems import EXCEPTION_HANDLERS

# Reads change nothing a client could conflict with: what their commit holds is the read's own record (the
# personal-data audit), so its conflict is the service's, and 409 is not an answer a read documents.
READS = frozenset({"GET", "HEAD"})


def answer(scope: Scope, exc: Exception) -> Response[Any]:
    """The problem the app answers for ``exc`` (``backend.lib.problems``: 409 for an integrity error, 503
    ``database_unavailable`` for a lost or unreachable database, 400 for a value it cannot store). A failure
    only the catch-all would answer (500), or a read's conflict, is a 503 ``service_unavailable`` the client
    may retry instead: nothing was stored, so a retry is safe, and the request itself was not at fault."""
    request: Request[Any, Any, Any] = Request(scope)
    handler = next((EXCEPTION_HANDLERS[t] for t in type(exc).__mro__ if t in EXCEPTION_HANDLERS), None)
    if handler is not None and handler is not EXCEPTION_HANDLERS[Exception]:
        response: Response[Any] = handler(request, exc)
        status = response.status_code or 500
        if (status < 500 or status == 503) and not (status == 409 and scope.get("method") in READS):
            return response
    detail = (
        "Không hoàn tất được yêu cầu, vui lòng thử lại / The request could not be completed, please retry"
    )
    # The problem's body and response directly, not a raised ``Problem``: its handler logs a 5xx as an error with
    # the Problem's traceback, which says nothing; the commit's failure is logged by backend.db.
    body = problems.problem_body(request, 503, detail, code="service_unavailable")
    return problems.problem_response(body, {"Retry-After": "1"})
