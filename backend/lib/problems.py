"""RFC 9457 problem details for every error the API returns.

Handlers raise ``Problem`` (or Litestar's HTTP exceptions); anything unexpected is logged and answered with a
generic 500 body that reveals nothing internal. Integrity errors from the database become 409, so a race that
slips past a service check still gets a clear answer and nothing stored is lost.
"""

import logging
import traceback
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError, IntegrityError

from backend.lib.problem_codes import ProblemCode, for_status
from schemas.base import NAIVE_TIME

log = logging.getLogger("backend.errors")
PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Yêu cầu không hợp lệ / Bad request",
    401: "Chưa đăng nhập / Not authenticated",
    403: "Không có quyền / Forbidden",
    404: "Không tìm thấy / Not found",
    405: "Phương thức không được hỗ trợ / Method not allowed",
    409: "Xung đột / Conflict",
    413: "Tệp quá lớn / Payload too large",
    415: "Định dạng không hỗ trợ / Unsupported media type",
    422: "Dữ liệu không hợp lệ / Unprocessable content",
    429: "Quá nhiều yêu cầu / Too many requests",
    500: "Lỗi hệ thống / Internal error",
    503: "Dịch vụ tạm thời không sẵn sàng / Service unavailable",
}


class Problem(HTTPException):
    """An error with a stable machine-readable ``code`` and a Vietnamese-first message."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.code = code
        self.problem_extra = extra or {}


def not_found(what: str, key: object) -> Problem:
    return Problem(404, f"Không tìm thấy {what} '{key}' / {what} '{key}' not found", code="not_found")


def forbidden(
    detail: str = "Bạn không có quyền với tài nguyên này / Not allowed for this resource",
) -> Problem:
    return Problem(403, detail, code="forbidden")


def base_url(request: Request[Any, Any, Any]) -> str:
    """Where this service is reached: PUBLIC_BASE_URL, else the address the request came to."""
    try:
        settings = getattr(request.app.state, "settings", None)
    except KeyError:  # a request built without an app (a handler called directly)
        settings = None
    return getattr(settings, "public_base_url", "") or str(request.base_url).rstrip("/")


def problem_body(
    request: Request[Any, Any, Any], status: int, detail: str | None, **extra: Any
) -> dict[str, Any]:
    # RFC 9457 §3.1.1: ``type`` should resolve to documentation for people; ours is the code's own page.
    code = str(extra.pop("code", None) or for_status(status))
    body: dict[str, Any] = {
        "type": f"{base_url(request)}/problems/{code}",
        "title": TITLES.get(status, "Lỗi / Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status >= 500:
        log.error("server error on %s %s", request.method, request.url.path, exc_info=exc)
    if isinstance(exc, Problem):
        return problem_response(
            problem_body(request, status, exc.detail, code=exc.code, **exc.problem_extra), exc.headers
        )
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else None
        if errors and all(isinstance(e, dict) and e.get("message") == NAIVE_TIME for e in errors):
            # Only times without an offset: the same 422 the services give for them, naming the fields.
            return problem_response(
                problem_body(request, 422, NAIVE_TIME, code="naive_time", errors=errors), exc.headers
            )
        detail = "Dữ liệu gửi lên không hợp lệ / The request is invalid"
        return problem_response(
            problem_body(request, 400, detail, code="validation", errors=errors), exc.headers
        )
    return problem_response(problem_body(request, status, exc.detail, code=for_status(status)), exc.headers)


def integrity_error_handler(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    log.warning("integrity error on %s: %s", request.url.path, exc.orig)
    detail = "Dữ liệu xung đột với dữ liệu đã có / Conflicts with existing data"
    return problem_response(problem_body(request, HTTP_409_CONFLICT, detail, code="conflict"))


# PostgreSQL refusing a value the request carried (SQLSTATE class 22, data exception): a NUL character in
# text (22021), text or a number too long for its column (22001, 22003), a date past its range (22008).
# Whatever the request held, it was rolled back; the caller gets a 400 rather than a 500.
UNSTORABLE = frozenset({"22001", "22003", "22007", "22008", "22021", "22P02", "22P05"})


def database_error_handler(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A lost database connection (server restarted, network cut) is a 503 the client may retry: the pool
    has already dropped its connections, so the retry gets a fresh one. A value the database cannot store
    is a 400. Anything else is a 500."""
    if getattr(exc.orig, "sqlstate", None) in UNSTORABLE:
        log.warning("value refused by the database on %s %s: %s", request.method, request.url.path, exc.orig)
        detail = (
            "Dữ liệu chứa ký tự hoặc giá trị không lưu được / The request holds a character or value "
            "that cannot be stored"
        )
        return problem_response(problem_body(request, 400, detail, code="unstorable_value"))
    if not exc.connection_invalidated:
        return unexpected_error_handler(request, exc)
    log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc.orig)
    detail = "Mất kết nối cơ sở dữ liệu, vui lòng thử lại / Database connection lost, please retry"
    return problem_response(
        problem_body(request, 503, detail, code="database_unavailable"), {"Retry-After": "1"}
    )


# Where a connection to the database is made: an OS error raised from there means the database cannot be reached.
DRIVERS = ("asyncpg", "sqlalchemy", "aiosqlite")


def _from_database_driver(exc: BaseException) -> bool:
    return any(
        str(frame.f_globals.get("__name__", "")).startswith(DRIVERS)
        for frame, _ in traceback.walk_tb(exc.__traceback__)
    )


def os_error_handler(request: Request[Any, Any, Any], exc: OSError) -> Response[Any]:
    """A database that cannot be reached at all (PostgreSQL restarting or cut off: the pool's new connection
    refused, reset or timed out) raises the OS's error from the driver, not a ``DBAPIError``: the same 503 the
    client may retry as a connection lost mid-request (found by the PostgreSQL-cut drill, ``bench/drills``:
    every request answered 500 while the database was away). Any other OS error is unexpected (500)."""
    if not _from_database_driver(exc):
        return unexpected_error_handler(request, exc)
    log.warning("database unreachable on %s %s: %r", request.method, request.url.path, exc)
    detail = "Mất kết nối cơ sở dữ liệu, vui lòng thử lại / Database connection lost, please retry"
    return problem_response(
        problem_body(request, 503, detail, code="database_unavailable"), {"Retry-After": "1"}
    )


# SQLSTATE classes of a server that takes no connections now: 57 operator intervention (57P03 "the database system
# is starting up" / "shutting down", 57P01 an administrator's shutdown) and 08 connection exception.
UNAVAILABLE_CLASSES = ("57", "08")


def _server_unavailable(exc: BaseException) -> bool:
    """The driver's own error when the server refuses a new connection (PostgreSQL restarting: asyncpg raises
    ``CannotConnectNowError`` from its connect, which SQLAlchemy does not wrap in a ``DBAPIError``)."""
    state = getattr(exc, "sqlstate", None)
    return isinstance(state, str) and state[:2] in UNAVAILABLE_CLASSES and _from_database_driver(exc)


def unexpected_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _server_unavailable(exc):  # found by the PostgreSQL-restart drill (bench/drills/pg_real_restart.py)
        log.warning("database not accepting connections on %s %s: %r", request.method, request.url.path, exc)
        detail = "Mất kết nối cơ sở dữ liệu, vui lòng thử lại / Database connection lost, please retry"
        return problem_response(
            problem_body(request, 503, detail, code="database_unavailable"), {"Retry-After": "1"}
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    detail = "Đã có lỗi, vui lòng thử lại / Something went wrong, please retry"
    return problem_response(problem_body(request, HTTP_500_INTERNAL_SERVER_ERROR, detail, code="internal"))


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    IntegrityError: integrity_error_handler,
    DBAPIError: database_error_handler,
    OSError: os_error_handler,
    Exception: unexpected_error_handler,
}

__all__ = ["EXCEPTION_HANDLERS", "MediaType", "Problem", "ProblemCode", "base_url", "forbidden", "not_found"]
