"""The schema fuzzer (tests/api/test_schema_fuzz.py) on this work's operations only, against an app with VNPay
and VietQR configured (so calls reach past the configuration check): every operation under /payments,
/prices and an appointment's /payments and /vietqr, called as every role with broken ids, queries and bodies,
answers a documented status and never a 500."""

from typing import Any

from sqlalchemy import text

from tests.api import test_schema_fuzz as fuzz
from tests.api.test_money_online import World, world
from tests.conftest import citizen_headers, staff_headers

__all__ = ["world"]
MINE = ("/api/v1/payments", "/api/v1/prices", "/vietqr")


def _mine(path: str) -> bool:
    return path.startswith(MINE[:2]) or path.endswith(MINE[2]) or path.endswith("}/payments")


async def test_this_works_operations_never_fail_on_bad_input(world: World, demo: Any) -> None:
    client = world.client
    schema = (await client.get("/schema/openapi.json")).json()
    components = schema.get("components", {}).get("schemas", {})
    ids: dict[str, list[str]] = {}
    async with world.engine.connect() as conn:
        for name, queries in fuzz.REAL.items():
            ids[name] = [
                str(v) for sql in queries for v in (await conn.execute(text(sql))).scalars().all()[:2]
            ]
        for name, sql in (
            ("payment_id", "SELECT id FROM online_payment"),
            ("rate_id", "SELECT id FROM tariff_rate"),
            ("fee_id", "SELECT id FROM procedure_fee"),
            ("exemption_id", "SELECT id FROM fee_exemption"),
        ):
            ids[name] = [str(v) for v in (await conn.execute(text(sql))).scalars().all()[:2]]
    fallback = {"point": "10.45,105.63"}  # tables this database may not have rows in yet
    for name, found in ids.items():
        if not found:
            ids[name] = [fallback.get(name, "00000000-0000-0000-0000-000000000001")]
    known = fuzz._known(ids)
    operations = [op for op in fuzz._operations(schema) if _mine(op[1])]
    assert len(operations) == 14, [op[:2] for op in operations]
    callers: list[tuple[str, dict[str, str]]] = [("anonymous", {})]
    callers += [(u, await staff_headers(client, u)) for u in ("admin", "dispatcher01", "courier01")]
    callers.append(("citizen", await citizen_headers(client, fuzz.CITIZEN)))
    faults: list[str] = []
    calls = 0
    for method, path, op in operations:
        for url, query, body in fuzz._requests(method, path, op, components, ids, known):
            for name, headers in callers:
                response = await fuzz._call(client, method, url, query, body, headers)
                calls += 1
                fault = response is not None and fuzz._fault(response)
                if fault:
                    faults.append(f"{method} {url} {query} as {name} -> {fault}")
    print(f"{calls} calls, {len(faults)} faults")
    assert not faults, "\n".join(faults[:20])
