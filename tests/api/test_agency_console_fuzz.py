"""The schema fuzzer (tests/api/test_schema_fuzz.py) on the agency console's operations (issue 23): each called
as every role with junk queries and bodies with one field at a time of the wrong type, out of range, very long
or holding a NUL; never a 500, every 4xx a problem (and, through the test client, every answer checked against
the document)."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import test_schema_fuzz as fuzz
from tests.conftest import staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_agency_console_operations_never_fail_on_bad_input(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    components = schema.get("components", {}).get("schemas", {})
    ids: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for name, queries in fuzz.REAL.items():
            ids[name] = [
                str(v) for sql in queries for v in (await conn.execute(text(sql))).scalars().all()[:2]
            ]
    for name, found in ids.items():
        if not found:
            ids[name] = ["10.45,105.63" if name == "point" else "00000000-0000-0000-0000-000000000001"]
    known = fuzz._known(ids)
    operations = [op for op in fuzz._operations(schema) if op[1].startswith("/api/v1/console/agency/")]
    assert len(operations) == 2, [op[:2] for op in operations]
    callers: list[tuple[str, dict[str, str]]] = [("anonymous", {})]
    callers += [(u, await staff_headers(client, u)) for u in ("admin", "agency03", "desk02", "courier01")]
    faults: list[str] = []
    calls = 0
    for method, path, op in operations:
        for url, query, req_body in fuzz._requests(method, path, op, components, ids, known):
            for name, headers in callers:
                response = await fuzz._call(client, method, url, query, req_body, headers)
                calls += 1
                fault = response is not None and fuzz._fault(response)
                if fault:
                    faults.append(f"{method} {url} {query} as {name} -> {fault}")
    print(f"{calls} calls, {len(faults)} faults")
    assert calls > 50
    assert not faults, "\n".join(faults[:20])
