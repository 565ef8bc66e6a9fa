"""The API is a contract app teams generate their clients from (issue 19): every operation of the served
document is named, described, tagged with one audience and answers a typed success body.

Each check lists every operation that misses it, so one run shows the whole gap.
"""

import re
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from backend.lib.openapi import AUDIENCE_TAGS, camel

pytestmark = pytest.mark.asyncio(loop_scope="session")
METHODS = ("get", "put", "post", "delete", "patch")
CAMEL = re.compile(r"[a-z][a-zA-Z0-9]*")


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def _operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{m.upper()} {p}", op) for p, item in doc["paths"].items() for m, op in item.items() if m in METHODS
    ]


def _handler_names(app: Litestar) -> dict[str, str]:
    """``METHOD path`` -> the handler function's name."""
    return {
        f"{method.upper()} {route.path_format}": handler.handler_name
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
    }


def untyped(
    schema: dict[str, Any], components: dict[str, Any], seen: frozenset[str] = frozenset()
) -> str | None:
    """Why ``schema`` does not name its fields and types (None when it does)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return None if name in seen else untyped(components[name], components, seen | {name})
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            reasons = [untyped(s, components, seen) for s in schema[key]]
            return next((r for r in reasons if r), None)
    if "enum" in schema or "const" in schema:
        return None
    kind = schema.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "object" in kinds:
        extra = schema.get("additionalProperties")
        if extra not in (None, False):
            if extra is True or extra == {}:
                # A payload whose shape varies by kind (an event's ``data``) may stay free-form if the
                # document says what it holds for each kind; a fixed shape may not.
                return None if schema.get("description") else "an object with free-form members, undescribed"
            return untyped(extra, components, seen)  # a map: its values must be typed
        if not schema.get("properties"):
            return "an object without properties"
        for name, prop in schema["properties"].items():
            why = untyped(prop, components, seen)
            if why:
                return f"{name}: {why}"
        return None
    if "array" in kinds:
        return (
            untyped(schema.get("items", {}), components, seen)
            if schema.get("items")
            else "an array of anything"
        )
    if kinds & {"string", "integer", "number", "boolean", "null"}:
        return None
    return "no type"


async def test_every_operation_is_named_described_and_typed(client: httpx.AsyncClient, app: Litestar) -> None:
    doc = await _document(client)
    components = doc["components"]["schemas"]
    handlers = _handler_names(app)
    gaps: list[str] = []
    ids: dict[str, str] = {}
    for name, op in _operations(doc):
        tags = op.get("tags") or []
        if len(tags) != 1 or tags[0] not in AUDIENCE_TAGS:
            gaps.append(f"{name}: tags {tags}, want exactly one of {sorted(AUDIENCE_TAGS)}")
        handler = handlers.get(name, "")
        default_summary = re.sub(r"[_\W]", "", handler.title())
        if not op.get("summary") or op["summary"] == default_summary:
            gaps.append(f"{name}: no summary (Litestar's default {op.get('summary')!r})")
        if not (op.get("description") or "").strip():
            gaps.append(f"{name}: no description")
        op_id = op.get("operationId", "")
        if not CAMEL.fullmatch(op_id) or op_id != camel(handler):
            gaps.append(
                f"{name}: operationId {op_id!r}; rename handler {handler!r} (a verb, unique in the API)"
            )
        if op_id in ids:
            gaps.append(f"{name}: operationId {op_id!r} also used by {ids[op_id]}")
        ids[op_id] = name
        successes = {s: r for s, r in op["responses"].items() if s.startswith("2")}
        if not successes:
            gaps.append(f"{name}: no success answer documented")
        for status, response in successes.items():
            for media_type, content in (response.get("content") or {}).items():
                if media_type.endswith("json"):
                    why = untyped(content.get("schema") or {}, components)
                    if why:
                        gaps.append(f"{name} {status}: {why}")
    assert not gaps, f"{len(gaps)} gaps in {len(_operations(doc))} operations:\n" + "\n".join(gaps)


async def test_untyped_tells_typed_from_bags() -> None:
    components = {
        "P": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/x/Q"}}}}
    }
    components["Q"] = {
        "type": "object",
        "properties": {"n": {"oneOf": [{"type": "integer"}, {"type": "null"}]}},
    }
    assert untyped({"$ref": "#/components/schemas/P"}, components) is None
    assert untyped({"type": "object", "additionalProperties": {}}, components)
    assert (
        untyped({"type": "object", "additionalProperties": {}, "description": "by kind: a {x}"}, components)
        is None
    )
    assert untyped({"type": "object"}, components)
    assert untyped({"type": "array", "items": {}}, components)
    assert untyped({"type": "object", "additionalProperties": {"type": "integer"}}, components) is None
    assert untyped({"type": "object", "properties": {"x": {}}}, components) == "x: no type"
