"""The answer checker of tests/openapi_check.py catches what it is for, on the real document and answers."""

import copy

import httpx
import pytest
from litestar import Litestar

from tests.openapi_check import Contract, ContractError, contract_of, response_hooks

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_real_answer_passes(client: httpx.AsyncClient, app: Litestar) -> None:
    contract = contract_of(app)
    r = await client.get("/api/v1/procedures?limit=2")
    assert contract.check("GET", "/api/v1/procedures", 200, "application/json", r.content) is None
    r = await client.get("/api/v1/procedures/no-such-code")
    assert r.status_code == 404
    assert contract.check("GET", "/api/v1/procedures/x", 404, "application/problem+json", r.content) is None


async def test_an_undocumented_status_or_type_is_caught(client: httpx.AsyncClient, app: Litestar) -> None:
    contract = contract_of(app)
    r = await client.get("/api/v1/procedures?limit=2")
    wrong = r.content.replace(b'"total":', b'"total":"many","was":', 1)
    error = contract.check("GET", "/api/v1/procedures", 200, "application/json", wrong)
    assert error is not None and "total" in error and "not of type 'integer'" in error, error
    error = contract.check("GET", "/api/v1/procedures", 418, "application/json", r.content)
    assert error is not None and "418" in error
    error = contract.check("GET", "/api/v1/procedures", 200, "text/csv", b"a,b")
    assert error is not None and "text/csv" in error
    problem = b'{"type": "x", "title": "t", "status": 404, "code": "no_such_code"}'
    error = contract.check("GET", "/api/v1/procedures/x", 404, "application/problem+json", problem)
    assert error is not None and "no_such_code" in error, "a code outside ProblemCode is caught"


async def test_paths_match_their_templates(app: Litestar) -> None:
    contract = Contract.of(app)
    found = contract.operation("GET", "/api/v1/couriers/me/route")
    assert found is not None and found[0] == "/api/v1/couriers/me/route"
    found = contract.operation("GET", "/api/v1/procedures/1.001193")
    assert found is not None and found[0] == "/api/v1/procedures/{code}"
    assert contract.operation("GET", "/console/") is None  # not in the document: not checked
    assert contract.operation("DELETE", "/api/v1/procedures") is None


async def test_the_hook_fails_the_request(
    client: httpx.AsyncClient, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through httpx's event hook, against a document that drifted (the 200 of a listing removed and a field
    retyped): the request that gets such an answer raises."""
    document = copy.deepcopy(contract_of(app).document)
    del document["paths"]["/api/v1/units/provinces"]["get"]["responses"]["200"]
    document["components"]["schemas"]["ProcedurePage"]["properties"]["total"] = {"type": "string"}
    drifted = Contract.from_document(document)
    monkeypatch.setenv("VALIDATE_RESPONSES", "1")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    hooks = response_hooks(app, drifted)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", event_hooks=hooks) as c:
        assert (await c.get("/api/v1/organisations?limit=1")).status_code == 200
        with pytest.raises(ContractError, match="200, which the document does not list"):
            await c.get("/api/v1/units/provinces")
        with pytest.raises(ContractError, match="at total: 2?[0-9]* is not of type 'string'"):
            await c.get("/api/v1/procedures?limit=1")
    monkeypatch.setenv("VALIDATE_RESPONSES", "0")
    assert response_hooks(app) == {}
