"""How operations describe themselves in the OpenAPI document (issue 19): audience tags, names, errors.

Controllers name the error statuses an operation really answers with ``responses=problems(404, 409)``; every
one is documented as the RFC 9457 ``ProblemDetails`` below under ``application/problem+json``, which is the
body ``backend.lib.problems`` actually sends. The statuses common to many operations are added centrally by
``finish_document`` when ``create_app`` builds the app, so controllers list only the ones specific to them:
400 (malformed request) where there are parameters or a body, 401 everywhere (a bearer token that is sent is
checked on every route), 403 everywhere too (a principal's role or scope where one is needed; elsewhere a sent
token whose organisation was deactivated), 404 where the path has parameters, 408 and 413 where
there is a body, 415 for uploads, 422 where a body holds a time (``naive_time``), 429 on the rate-limited
sign-in routes and 503 everywhere (the database connection lost). Litestar's own error schema
(``{status_code, detail, extra}``), which this service never sends, is replaced wherever Litestar put it.
"""

import re
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    Schema,
    Tag,
)
from litestar.routes import HTTPRoute
from litestar.types import Method

from backend.lib import etag
from backend.lib.auth import provide_principal
from backend.lib.problem_codes import ProblemCode
from backend.lib.ratelimit import auth_group

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


@dataclass(kw_only=True)
class FieldError:
    """One invalid field of a request (``errors`` of a 400/422 problem)."""

    message: str
    key: str | None = None
    source: str | None = None


@dataclass(kw_only=True)
class RowError:
    """One refused row of an uploaded file (``errors`` of an ``import_rejected`` problem)."""

    line: int
    reason: str


@dataclass(kw_only=True)
class ProblemDetails:
    """RFC 9457 problem details. ``code`` is stable and machine-readable (docs/problems.md); ``type`` is the
    service's page that explains it (``/problems/{code}``); ``detail`` is for people, Vietnamese first then
    English. Some problems carry more members (RFC 9457 §3.2 extensions) named on the code's page."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: ProblemCode
    errors: list[FieldError | RowError] | None = None
    retry_after: int | None = None


DESCRIPTIONS: dict[int, str] = {
    400: "Yêu cầu sai định dạng / The request is malformed (field errors in `errors`)",
    401: "Chưa đăng nhập hoặc phiên đã hết hạn / Not signed in, or the session has ended",
    403: "Vai trò hoặc phạm vi không cho phép / The role or scope does not allow this",
    404: "Không tìm thấy / Not found, or not visible to the caller",
    408: "Nội dung đến quá chậm / The body did not arrive within HTTP_BODY_TIMEOUT_S",
    409: "Xung đột với trạng thái hiện tại / Conflicts with the current state",
    412: "Phiên bản đã thay đổi / The resource changed since it was read (If-Match)",
    413: "Nội dung quá lớn / The body is too large",
    415: "Định dạng không hỗ trợ / Unsupported media type",
    422: "Dữ liệu hợp lệ về định dạng nhưng trái quy tắc / Well-formed but breaks a rule",
    429: "Quá nhiều yêu cầu / Too many requests (see Retry-After)",
    503: "Tạm thời không sẵn sàng / Temporarily unavailable (see Retry-After)",
}


# One realistic answer per status, shown by documentation tools (generators ignore it).
EXAMPLE_CODES: dict[int, tuple[ProblemCode, str]] = {
    400: (ProblemCode.validation, "Dữ liệu gửi lên không hợp lệ / The request is invalid"),
    401: (ProblemCode.not_authenticated, "Cần đăng nhập / Sign-in required"),
    403: (ProblemCode.forbidden_role, "Vai trò 'citizen' không được phép / Role 'citizen' not allowed"),
    404: (ProblemCode.not_found, "Không tìm thấy hồ sơ / dossier not found"),
    408: (ProblemCode.request_timeout, "Nội dung yêu cầu đến quá chậm / The request body arrived too slowly"),
    409: (ProblemCode.window_full, "Khung giờ đã kín, vui lòng chọn khung khác / The window is full"),
    413: (ProblemCode.too_large, "Tệp quá lớn / File too large"),
    415: (ProblemCode.bad_type, "Chỉ nhận ảnh PNG, JPEG hoặc WebP / Only PNG, JPEG or WebP images"),
    422: (ProblemCode.cutoff_passed, "Đã quá hạn đổi/hủy / Too late to change"),
    429: (ProblemCode.rate_limited, "Quá nhiều lần thử, vui lòng thử lại sau / Too many attempts"),
    503: (ProblemCode.database_unavailable, "Mất kết nối cơ sở dữ liệu / Database connection lost"),
}


def problem_example(status: int) -> dict[str, Any]:
    code, detail = EXAMPLE_CODES.get(status, (ProblemCode.http_error, "Lỗi / Error"))
    return {
        "type": f"https://api.example.vn/problems/{code.value}",
        "title": DESCRIPTIONS.get(status, "Lỗi / Error").split(" / ")[0],
        "status": status,
        "detail": detail,
        "instance": "/api/v1/appointments/5f0c7a52-8d1e-4a47-9a57-3f1f0e3c9b21",
        "code": code.value,
    }


def problem_spec(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDetails,
        description=DESCRIPTIONS.get(status, "Lỗi / Error"),
        media_type=PROBLEM_JSON,
        generate_examples=False,
        examples=[Example(summary=f"HTTP {status}", value=problem_example(status))],
    )


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """``responses=`` for a route handler: the error statuses specific to this operation."""
    return {status: problem_spec(status) for status in statuses}


def camel(name: str) -> str:
    first, *rest = name.strip("_").split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


class OperationIds:
    """``OpenAPIConfig.operation_id_creator``: the handler function's name in camelCase, so generated clients
    get ``bookAppointment`` (with the method in front for a handler serving several). Two handlers of one name
    would stop the app from starting (Litestar refuses duplicate operationIds): the second gets its path
    appended instead, which tests/api/test_openapi_contract.py reports as a handler to rename. One per app."""

    def __init__(self) -> None:
        self.given: dict[tuple[int, str], str] = {}

    def __call__(self, handler: HTTPRouteHandler, method: Method, path: list[Any]) -> str:
        key = (id(handler), str(method))
        if key in self.given:
            return self.given[key]
        name = camel(handler.handler_name)
        if len(handler.http_methods) > 1:
            name = str(method).lower() + name[:1].upper() + name[1:]
        if name in self.given.values():
            parts = [getattr(p, "name", p) for p in path]
            name += "".join(camel(str(p).replace("-", "_")).title() for p in parts if p)
        self.given[key] = name
        return name


def audience_tags() -> list[Tag]:
    """``OpenAPIConfig.tags``: the audiences, described, in the order generators list them."""
    return [Tag(name=name, description=text) for name, text in AUDIENCE_TAGS.items()]


PROBLEM_REF = Reference(ref="#/components/schemas/ProblemDetails")
LITESTAR_ERROR = re.compile(r"^[45]\d\d$")
DESCRIPTION_401_PUBLIC = (
    "Mã đăng nhập đã gửi không hợp lệ / A bearer token was sent and is invalid or revoked "
    "(sending none is fine)"
)
DESCRIPTION_403_PUBLIC = (
    "Mã đăng nhập đã gửi thuộc đơn vị đã ngừng hoạt động / A bearer token was sent whose organisation was "
    "deactivated (`organisation_inactive`; sending none is fine)"
)


def needs_principal(handler: HTTPRouteHandler) -> bool:
    """Whether only a signed-in caller is answered: the handler has a guard or takes ``provide_principal``."""
    if handler.opt.get("exclude_from_auth"):
        return False
    if handler.resolve_guards():
        return True
    return any(dep.dependency is provide_principal for dep in handler.resolve_dependencies().values())


def _problem(status: int, description: str | None = None) -> OpenAPIResponse:
    example = Example(summary=f"HTTP {status}", value=problem_example(status))
    return OpenAPIResponse(
        description=description or DESCRIPTIONS.get(status, "Lỗi / Error"),
        content={PROBLEM_JSON: OpenAPIMediaType(schema=PROBLEM_REF, examples={f"problem{status}": example})},
    )


def _is_litestar_error(response: Any) -> bool:
    """Litestar's default error answer: ``application/json`` with ``{status_code, detail, extra}``."""
    content = getattr(response, "content", None) or {}
    schemas = [getattr(m, "schema", None) for m in content.values()]
    schemas += [o for s in schemas for o in (getattr(s, "one_of", None) or [])]
    return any({"status_code", "detail"} <= set(getattr(s, "properties", None) or {}) for s in schemas)


def _handlers(app: Litestar) -> dict[tuple[str, str], HTTPRouteHandler]:
    found: dict[tuple[str, str], HTTPRouteHandler] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                for method in handler.http_methods:
                    found[(route.path_format or "/", method.lower())] = handler
    return found


NAIVE_TIME_422 = (
    "Trái quy tắc, ví dụ thời điểm thiếu múi giờ / Well-formed but breaks a rule: among others a time "
    "without its UTC offset (`naive_time`, naming the field)"
)


def _takes_instant(schema: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether a request body holds a date-time: ``backend.lib.problems`` answers one without an offset with
    422 ``naive_time`` instead of 400, whatever the handler."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            return name not in seen and _takes_instant(components.get(name), components, seen | {name})
        if schema.get("format") == "date-time":
            return True
        return any(_takes_instant(v, components, seen) for v in schema.values())
    if isinstance(schema, list):
        return any(_takes_instant(v, components, seen) for v in schema)
    return False


def _finish_operation(
    path: str, op: Operation, handler: HTTPRouteHandler | None, components: dict[str, Any]
) -> None:
    responses = op.responses if op.responses is not None else {}
    for status, response in list(responses.items()):
        if LITESTAR_ERROR.match(status) and _is_litestar_error(response):
            responses[status] = _problem(int(status))
    body = op.request_body
    common: dict[int, str | None] = {}
    if op.parameters or body is not None:
        common[400] = None
    private = handler is not None and needs_principal(handler)
    common[401] = None if private else DESCRIPTION_401_PUBLIC
    common[403] = None if private else DESCRIPTION_403_PUBLIC
    if any(getattr(p, "param_in", None) == "path" for p in op.parameters or []):
        # Litestar's router answers a path segment of the wrong type (``{day:date}`` given "x") with 404.
        common[404] = None
    if body is not None and _takes_instant(body.to_schema(), components):
        common[422] = NAIVE_TIME_422
    if body is not None:
        common[408] = None  # backend/lib/body_timeout.py
        common[413] = None
        if "multipart/form-data" in (getattr(body, "content", None) or {}):
            common[415] = None
    if auth_group(path) is not None:
        common[429] = None
    # The database connection lost (backend/lib/problems.py): any operation, as even reading the caller's
    # account for a bearer token goes to the database.
    common[503] = None
    for code, description in common.items():
        responses.setdefault(str(code), _problem(code, description))
    if not private:
        op.security = [{}, {"BearerToken": []}]  # signing in is optional here
    op.responses = responses
    policy = handler.opt.get(etag.OPT) if handler is not None else None
    if policy:
        _document_validators(op, policy)
    op.responses = dict(sorted(op.responses.items()))


def _document_validators(op: Operation, policy: str) -> None:
    """An operation answering with ``backend.lib.etag``: its ``If-None-Match``, 304 and headers."""
    text = Schema(type=OpenAPIType.STRING)
    tag = OpenAPIHeader(
        schema=text, description="Thẻ phiên bản / Strong entity tag of the answer (RFC 9110 §8.8.3)"
    )
    cache = OpenAPIHeader(schema=text, description=f"Cache-Control: `{policy}`")
    params = list(op.parameters or [])
    if not any(getattr(p, "name", "").lower() == "if-none-match" for p in params):
        params.append(
            Parameter(
                name="If-None-Match",
                param_in="header",
                schema=text,
                required=False,
                description="ETag của bản đã tải / The ETag of the client's copy: 304 if still current",
            )
        )
    op.parameters = params
    responses = op.responses if op.responses is not None else {}
    ok = responses.get("200")
    if isinstance(ok, OpenAPIResponse):
        ok.headers = {**(ok.headers or {}), "ETag": tag, "Cache-Control": cache}
    responses["304"] = OpenAPIResponse(
        description="Không đổi / Not modified: the copy named in If-None-Match is current (no body)",
        headers={"ETag": tag, "Cache-Control": cache},
    )
    op.responses = responses


def finish_document(app: Litestar) -> OpenAPI:
    """Complete the app's OpenAPI document once, when the app is built (``create_app`` calls it): every
    operation's common error answers as ``ProblemDetails``, and no trace of Litestar's default error schema.
    Litestar caches the document object it builds, so the served ``/schema/openapi.json`` is this one."""
    document = app.openapi_schema
    schemas = document.components.schemas or {}
    if "ProblemDetails" not in schemas:
        raise RuntimeError("no handler declares problems(): ProblemDetails is missing from the components")
    handlers = _handlers(app)
    components = {name: schema.to_schema() for name, schema in schemas.items()}
    for path, item in (document.paths or {}).items():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            op = getattr(item, method, None)
            if isinstance(op, Operation):
                _finish_operation(path, op, handlers.get((path, method)), components)
    return document


__all__: list[Any] = [
    "AUDIENCE_TAGS",
    "audience_tags",
    "finish_document",
    "OperationIds",
    "camel",
    "AUTH",
    "CITIZEN_APP",
    "CONSOLE",
    "COURIER_APP",
    "PARTNERS",
    "PROBLEM_JSON",
    "REFERENCE",
    "FieldError",
    "RowError",
    "ProblemDetails",
    "problem_spec",
    "problems",
]
