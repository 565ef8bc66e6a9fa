"""Every answer the API tests receive is checked against the OpenAPI document (issue 19: the document cannot
drift from what the service does).

``response_hooks(app)`` gives httpx ``event_hooks`` for a test client on ``app``: each answer to a documented
operation must have a documented status and media type, and a JSON body must validate (JSON Schema 2020-12,
``jsonschema``, ``$ref``s resolved into the document's components) against the schema the document gives for
that operation and status. A mismatch raises ``ContractError`` in the test that made the request. Paths the
document leaves out (the console's pages, static files, the document itself) are not checked. Streams
(``text/event-stream``) are checked by status and media type only: their body never ends.

On by default; ``VALIDATE_RESPONSES=0`` switches it off (a quick local run). ``STATS`` counts what was checked for the
session's summary line (tests/conftest.py).
"""

import json
import os
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from litestar import Litestar
from litestar.serialization import encode_json
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:hoso:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def enabled() -> bool:
    return os.environ.get("VALIDATE_RESPONSES", "1").strip().lower() in {"1", "true", "yes", "on"}


class ContractError(AssertionError):
    """An answer the OpenAPI document does not describe."""


@dataclass
class Stats:
    validated: int = 0  # JSON bodies validated against their schema
    checked: int = 0  # answers checked by status and media type (bodies included in ``validated``)
    skipped: int = 0  # answers to paths the document leaves out
    operations: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


STATS = Stats()


def _escape(pointer_part: str) -> str:
    return pointer_part.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, eq=False)  # hashed by identity: validators are cached per contract
class Contract:
    """One app's document, ready to check answers."""

    document: dict[str, Any]
    registry: Registry
    templates: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def of(cls, app: Litestar) -> "Contract":
        return cls.from_document(json.loads(encode_json(app.openapi_schema.to_schema())))

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Contract":
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        registry: Registry = Registry().with_resource(DOC_URI, resource)
        # Literal paths before templated ones (/couriers/me/route before /couriers/{user_id}/profile).
        paths = sorted(document["paths"], key=lambda p: (p.count("{"), -len(p)))
        templates = tuple(
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in paths
        )
        return cls(document, registry, templates)

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, template in self.templates:
            if pattern.match(path):
                op = self.document["paths"][template].get(method.lower())
                if op is not None:
                    return template, op
        return None

    def check(self, method: str, path: str, status: int, media_type: str, body: bytes | None) -> str | None:
        """None when the answer is documented, else what is wrong. ``body`` None: not read (a stream)."""
        found = self.operation(method, path)
        if found is None:
            STATS.skipped += 1
            return None
        template, op = found
        name = f"{method.upper()} {template}"
        STATS.checked += 1
        STATS.operations[name] += 1
        responses = op.get("responses", {})
        key = str(status) if str(status) in responses else "default"
        if key not in responses:
            return f"{name} answered {status}, which the document does not list ({sorted(responses)})"
        content = responses[key].get("content") or {}
        if not body and status in (204, 304) or method.upper() == "HEAD":
            return None
        if not content:
            return f"{name} {status}: the document declares no body, the answer has {media_type or 'one'}"
        keys = {key.split(";")[0].strip().lower(): key for key in content}  # text/csv; charset=utf-8
        documented = media_type if media_type in keys else _wildcard(media_type, keys)
        if documented is None:
            return f"{name} {status}: media type {media_type!r} is not documented ({sorted(content)})"
        media_type = documented
        if body is None or not media_type.endswith("json"):
            return None
        pointer = "/".join(
            _escape(p)
            for p in ("paths", template, method.lower(), "responses", key, "content", keys[media_type])
        )
        error = self._validate(json.loads(body), f"{DOC_URI}#/{pointer}/schema")
        STATS.validated += 1
        return None if error is None else f"{name} {status}: {error}"

    def _validate(self, instance: Any, ref: str) -> str | None:
        validator = _validator(self, ref)
        error: ValidationError | None = next(iter(validator.iter_errors(instance)), None)
        if error is None:
            return None
        where = "/".join(str(p) for p in error.absolute_path) or "(body)"
        return f"at {where}: {error.message[:300]}"


def _wildcard(media_type: str, content: dict[str, Any]) -> str | None:
    """The documented range (``image/*``, ``*/*``) that covers ``media_type``, if any."""
    kind = media_type.split("/")[0]
    return next((m for m in (f"{kind}/*", "*/*") if m in content), None)


@lru_cache(maxsize=1024)
def _validator(contract: Contract, ref: str) -> Draft202012Validator:
    """A validator for the answer schema at ``ref`` (a pointer into the document, whose ``#/components/...``
    references then resolve in the document too)."""
    return Draft202012Validator({"$ref": ref}, registry=contract.registry)


_contracts: dict[int, tuple[Litestar, Contract]] = {}  # the app is kept so that its id is not reused


def contract_of(app: Litestar) -> Contract:
    key = id(app)
    if key not in _contracts:
        _contracts[key] = (app, Contract.of(app))
    return _contracts[key][1]


def response_hooks(
    app: Litestar, contract: Contract | None = None
) -> dict[str, list[Callable[[httpx.Response], Awaitable[None]]]]:
    """``event_hooks`` for an ``httpx.AsyncClient`` on ``app`` (none when VALIDATE_RESPONSES is off); the
    answers are checked against ``app``'s own document unless another ``contract`` is given."""
    if not enabled():
        return {}

    async def check(response: httpx.Response) -> None:
        request = response.request
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        body: bytes | None = None
        if media_type != "text/event-stream":
            body = await response.aread()
        against = contract or contract_of(app)
        problem = against.check(request.method, request.url.path, response.status_code, media_type, body)
        if problem is not None:
            if contract is None:  # not a test's deliberately drifted copy
                STATS.failures.append(problem)
            raise ContractError(f"the answer does not match the OpenAPI document: {problem}")

    return {"response": [check]}


def summary() -> str:
    s = STATS
    return (
        f"OpenAPI contract: {s.checked} answers checked against the document ({s.validated} JSON bodies "
        f"validated, {len(s.operations)} operations), {s.skipped} to undocumented paths, "
        f"{len(s.failures)} mismatches"
    )
