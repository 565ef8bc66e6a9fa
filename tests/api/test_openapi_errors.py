"""The served OpenAPI document documents errors as they are sent (issue 19): RFC 9457 problems, never
Litestar's default ``{status_code, detail, extra}``, with the statuses common to each operation added
centrally, and readable operationIds. What each domain's controllers declare is checked in
test_openapi_contract.py."""

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from backend.lib.openapi import AUDIENCE_TAGS, PROBLEM_JSON, camel, needs_principal
from backend.lib.problem_codes import ProblemCode

pytestmark = pytest.mark.asyncio(loop_scope="session")
METHODS = ("get", "put", "post", "delete", "patch")


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, item in doc["paths"].items() for m, op in item.items() if m in METHODS]


def _litestar_errors(node: Any) -> Iterator[Any]:
    """Schemas shaped like Litestar's default error (``status_code``, ``detail``, ``extra``) in ``node``."""
    if isinstance(node, dict):
        if {"status_code", "detail", "extra"} <= set(node.get("properties") or {}):
            yield node
        for value in node.values():
            yield from _litestar_errors(value)
    elif isinstance(node, list):
        for value in node:
            yield from _litestar_errors(value)


async def test_no_operation_documents_litestar_default_error(client: httpx.AsyncClient) -> None:
    doc = await _document(client)
    assert not list(_litestar_errors(doc)), "Litestar's error schema is still in the document"
    for path, method, op in _operations(doc):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                content = response.get("content", {})
                assert list(content) == [PROBLEM_JSON], (method, path, status, list(content))
                assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/ProblemDetails"}


async def test_problem_schema_names_every_code(client: httpx.AsyncClient) -> None:
    schemas = (await _document(client))["components"]["schemas"]
    problem = schemas["ProblemDetails"]
    assert set(problem["required"]) >= {"type", "title", "status", "code"}
    assert problem["properties"]["code"] == {"$ref": "#/components/schemas/ProblemCode"}
    assert sorted(schemas["ProblemCode"]["enum"]) == sorted(c.value for c in ProblemCode)


async def test_common_errors_are_added_where_they_apply(client: httpx.AsyncClient, app: Litestar) -> None:
    doc = await _document(client)
    private = {
        (route.path_format, method.lower()): needs_principal(handler)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
    }
    for path, method, op in _operations(doc):
        statuses = set(op["responses"])
        where = f"{method.upper()} {path}"
        assert "401" in statuses, where  # a bearer token sent anywhere is checked
        assert "503" in statuses, where  # the database connection lost
        assert "403" in statuses, where  # a role or scope; a sent token of a deactivated organisation
        params = [p for p in op.get("parameters", []) if p["name"] != "If-None-Match"]  # ours, never refused
        if params or op.get("requestBody"):
            assert "400" in statuses, where
        if private[(path, method)]:
            assert op.get("security") is None, f"{where} inherits the document's bearer requirement"
        else:
            assert op["security"] == [{}, {"BearerToken": []}], where
        if op.get("requestBody"):
            assert {"408", "413"} <= statuses, where
        if any(p["in"] == "path" for p in op.get("parameters", [])):
            assert "404" in statuses, where
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
            assert {"413", "415"} <= statuses, where
        if path.startswith("/api/v1/auth/"):
            assert "429" in statuses, where
    # Spot checks against what the handlers do.
    assert not private[("/api/v1/slots", "get")] and private[("/api/v1/appointments", "post")]
    assert private[("/api/v1/staff", "post")] and not private[("/api/v1/auth/staff/login", "post")]


async def test_operation_ids_are_the_handler_names(client: httpx.AsyncClient, app: Litestar) -> None:
    doc = await _document(client)
    ids = [op.get("operationId") for _, _, op in _operations(doc)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z][a-zA-Z0-9]*", str(i)) for i in ids), ids
    names = {
        camel(handler.handler_name)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
    }
    assert {"getProblemCode", "listProcedures", "getCalendarYear"} <= set(ids)
    # A name two handlers share gets its path appended (test_openapi_contract.py asks for a rename).
    assert all(i in names or any(str(i).startswith(n) for n in names) for i in ids), ids


async def test_audience_tags_are_described(client: httpx.AsyncClient) -> None:
    doc = await _document(client)
    assert [(t["name"], t["description"]) for t in doc["tags"]][: len(AUDIENCE_TAGS)] == list(
        AUDIENCE_TAGS.items()
    )


async def test_camel_case() -> None:
    assert camel("book_appointment") == "bookAppointment"
    assert camel("get_courier_route") == "getCourierRoute"
    assert camel("health") == "health"
    assert camel("_private_name") == "privateName"
