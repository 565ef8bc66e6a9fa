"""How operations describe themselves in the OpenAPI document (issue 19): audience tags and error answers.

Controllers name the error statuses an operation really answers with ``responses=problems(404, 409)``; every
one is documented as the RFC 9457 ``ProblemDetails`` below under ``application/problem+json``, which is the
body ``backend.lib.problems`` actually sends. The statuses every authenticated operation can answer (401, 403,
400 for a malformed request, 429, 500) are added centrally when the document is built, so controllers list only
the ones that are specific to them.
"""

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from msgspec import Struct

PROBLEM_JSON = "application/problem+json"

# Audiences: the app or system an operation is built for. One tag each, so a generator groups clients by audience.
CITIZEN_APP = "citizen-app"
COURIER_APP = "courier-app"
CONSOLE = "console"
PARTNERS = "partners"
REFERENCE = "reference"
AUTH = "auth"

AUDIENCE_TAGS: dict[str, str] = {
    AUTH: "Đăng nhập và phiên / Sign-in and sessions (every client)",
    CITIZEN_APP: "Ứng dụng công dân / Citizens' app: slots, appointments, tracking, inbox",
    COURIER_APP: "Ứng dụng bưu tá / Couriers' app: route, stops, scans, proofs, offline sync",
    CONSOLE: "Bảng điều khiển / Web console: desks, agencies, dispatchers, leadership, admins",
    PARTNERS: "Hệ thống đối tác / Partner systems: provincial portals, agencies' systems",
    REFERENCE: "Dữ liệu tham chiếu / Reference data: procedures, units, organisations, calendar",
}


class FieldError(Struct, kw_only=True):
    """One invalid field of a request (``errors`` of a 400/422 problem)."""

    message: str
    key: str | None = None
    source: str | None = None


class ProblemDetails(Struct, kw_only=True):
    """RFC 9457 problem details. ``code`` is stable and machine-readable; ``type`` is a page that explains it;
    ``detail`` is for people, Vietnamese first then English."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    errors: list[FieldError] | None = None


DESCRIPTIONS: dict[int, str] = {
    400: "Yêu cầu sai định dạng / The request is malformed (field errors in `errors`)",
    401: "Chưa đăng nhập hoặc phiên đã hết hạn / Not signed in, or the session has ended",
    403: "Vai trò hoặc phạm vi không cho phép / The role or scope does not allow this",
    404: "Không tìm thấy / Not found, or not visible to the caller",
    409: "Xung đột với trạng thái hiện tại / Conflicts with the current state",
    412: "Phiên bản đã thay đổi / The resource changed since it was read (If-Match)",
    413: "Nội dung quá lớn / The body is too large",
    415: "Định dạng không hỗ trợ / Unsupported media type",
    422: "Dữ liệu hợp lệ về định dạng nhưng trái quy tắc / Well-formed but breaks a rule",
    429: "Quá nhiều yêu cầu / Too many requests (see Retry-After)",
    503: "Tạm thời không sẵn sàng / Temporarily unavailable (see Retry-After)",
}


def problem_spec(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDetails,
        description=DESCRIPTIONS.get(status, "Lỗi / Error"),
        media_type=PROBLEM_JSON,
    )


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """``responses=`` for a route handler: the error statuses specific to this operation."""
    return {status: problem_spec(status) for status in statuses}


__all__: list[Any] = [
    "AUDIENCE_TAGS",
    "AUTH",
    "CITIZEN_APP",
    "CONSOLE",
    "COURIER_APP",
    "PARTNERS",
    "PROBLEM_JSON",
    "REFERENCE",
    "FieldError",
    "ProblemDetails",
    "problem_spec",
    "problems",
]
