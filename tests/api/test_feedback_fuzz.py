"""The schema fuzzer (tests/api/test_schema_fuzz.py) on the ratings', complaints' and their reports'
operations (issue 23): each called as every role with real and broken ids, junk queries and bodies with one
field at a time of the wrong type, out of range, very long or holding a NUL; never a 500, every 4xx a problem
(and, through the test client, every answer checked against the document)."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import test_schema_fuzz as fuzz
from tests.api.test_feedback import me, visit
from tests.conftest import citizen_headers, staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

CITIZEN = "+84900000075"


def _mine(path: str) -> bool:
    return path.startswith(
        ("/api/v1/complaints", "/api/v1/reports/ratings", "/api/v1/reports/complaints")
    ) or (path.endswith("/rating"))


async def test_feedback_operations_never_fail_on_bad_input(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    citizen = await citizen_headers(client, CITIZEN)
    appt = await visit(engine, demo, await me(client, citizen))
    body = {"subject": "visit", "category": "other", "text": "fuzz", "appointment_id": str(appt)}
    r = await client.post("/api/v1/complaints", json=body, headers=citizen)
    assert r.status_code == 201, r.text
    schema = (await client.get("/schema/openapi.json")).json()
    components = schema.get("components", {}).get("schemas", {})
    ids: dict[str, list[str]] = {}
    async with engine.connect() as conn:
        for name, queries in fuzz.REAL.items():
            ids[name] = [
                str(v) for sql in queries for v in (await conn.execute(text(sql))).scalars().all()[:2]
            ]
    ids["appointment_id"] = [str(appt), *ids.get("appointment_id", [])[:1]]
    ids["complaint_id"] = [r.json()["id"]]
    for name, found in ids.items():
        if not found:
            ids[name] = ["10.45,105.63" if name == "point" else "00000000-0000-0000-0000-000000000001"]
    known = fuzz._known(ids)
    operations = [op for op in fuzz._operations(schema) if _mine(op[1])]
    assert len(operations) == 12, [op[:2] for op in operations]
    callers: list[tuple[str, dict[str, str]]] = [("anonymous", {}), ("citizen", citizen)]
    callers += [
        (u, await staff_headers(client, u)) for u in ("admin", "dispatcher07", "courier13", "agency01")
    ]
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
    assert calls > 500
    assert not faults, "\n".join(faults[:20])
