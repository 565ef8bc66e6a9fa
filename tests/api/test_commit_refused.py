"""A request whose commit fails does not answer success (``backend.db.finish_session_handler``): the answer
becomes the problem the app gives for that error (``backend.lib.commit_problem``), and nothing of the request
is stored.

The failure is a real one: a trigger of the test database refusing the admin's personal-data audit rows, which
a staff read of a citizen (``GET /citizens/{id}``) leaves to the request's commit at the start of its 200. On
both databases the trigger raises an integrity error; on PostgreSQL also a plain ``RAISE EXCEPTION``, an
error only the catch-all handler would answer (500). A read answers either as 503 ``service_unavailable`` the
client may retry (a read conflicts with nothing the client sent). A write's integrity error at commit is the
409 ``backend.lib.problems`` gives it, checked on the hook itself with a real commit refused by a foreign key,
as is a stream whose commit failed (SSE): the problem, then no further chunk.
"""

import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from schemas.audit import PersonalDataAccess
from tests.conftest import citizen_headers, staff_headers
from tests.support.sqlite_ddl import run_fresh

PHONE = "+84920000093"  # not a demo citizen: nobody else reads this one


async def _refuse_audit(engine: AsyncEngine, staff_id: uuid.UUID, errcode: str | None) -> None:
    """A trigger refusing this account's audit rows (with PostgreSQL's ``errcode``), or gone (None)."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(text("DROP TRIGGER IF EXISTS test_refuse_commit ON personal_data_access"))
            await conn.execute(text("DROP FUNCTION IF EXISTS test_refuse_commit()"))
            if errcode is None:
                return
            await conn.execute(
                text(
                    "CREATE FUNCTION test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS "
                    f"$$ BEGIN RAISE EXCEPTION 'refused (test)' USING ERRCODE = '{errcode}'; END $$"
                )
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER test_refuse_commit BEFORE INSERT ON personal_data_access FOR EACH ROW "
                    f"WHEN (NEW.staff_id = '{staff_id}') EXECUTE FUNCTION test_refuse_commit()"
                )
            )
            return
    statements = ["DROP TRIGGER IF EXISTS test_refuse_commit"]
    # SQLite's RAISE(ABORT) is a constraint failure (an integrity error); a failure nothing maps (PostgreSQL's
    # plain RAISE) is a trigger writing to a table that does not exist (an OperationalError at the insert).
    refusal = (
        "SELECT RAISE(ABORT, 'refused (test)')"
        if errcode == "23514"
        else "INSERT INTO test_no_table VALUES (1)"
    )
    if errcode is not None:
        statements.append(
            "CREATE TRIGGER test_refuse_commit BEFORE INSERT ON personal_data_access "
            f"WHEN NEW.staff_id = '{staff_id.hex}' BEGIN {refusal}; END"
        )
    run_fresh(engine, *statements)  # a pooled connection's DROP can miss a trigger it has not seen


async def _audited(engine: AsyncEngine, staff_id: uuid.UUID, citizen_id: str) -> int:
    async with session_factory(engine)() as s:
        stmt = select(func.count()).where(
            col(PersonalDataAccess.staff_id) == staff_id,
            col(PersonalDataAccess.citizen_id) == uuid.UUID(citizen_id),
        )
        return int((await s.exec(stmt)).one())


def _is_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status and "phone" not in body
    assert int(r.headers["content-length"]) == len(r.content)
    assert "etag" not in r.headers and "cache-control" not in r.headers


@pytest.mark.parametrize("errcode", ["23514", "P0001"], ids=["integrity", "unknown"])
async def test_a_read_whose_audit_cannot_be_stored_is_not_answered(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any, errcode: str
) -> None:
    cid = (await client.get("/api/v1/me", headers=await citizen_headers(client, PHONE))).json()["id"]
    admin = await staff_headers(client, "admin")
    admin_id = demo.staff["admin"].id
    url = f"/api/v1/citizens/{cid}"
    before = await _audited(engine, admin_id, cid)
    try:
        await _refuse_audit(engine, admin_id, errcode)
        r = await client.get(url, headers=admin)
    finally:
        await _refuse_audit(engine, admin_id, None)
    # A read conflicts with nothing the client sent (its commit held only its own audit row): 503, retry.
    _is_problem(r, 503, "service_unavailable")
    assert r.headers["retry-after"] == "1"
    assert await _audited(engine, admin_id, cid) == before  # the read was not shown and left nothing

    # Without the refusal the same read answers and its audit row is stored by the same commit.
    r = await client.get(url, headers=admin)
    assert r.status_code == 200 and r.json()["phone"] == PHONE, r.text
    assert await _audited(engine, admin_id, cid) == before + 1


def _scope(app: Any, method: str, key: str, session: Any) -> Any:
    return {
        "type": "http", "method": method, "path": "/api/v1/x", "raw_path": b"/api/v1/x", "root_path": "",
        "scheme": "http", "server": ("t", 80), "query_string": b"", "headers": [], "litestar_app": app,
        "state": {key: session},
    }  # fmt: skip


async def test_a_write_refused_at_commit_answers_its_conflict_and_a_stream_stops(
    app: Litestar, engine: AsyncEngine
) -> None:
    from backend.db import finish_session_handler
    from backend.lib import commit_problem

    hook = finish_session_handler("test_session", commit_problem.answer)
    for stream in (False, True):
        async with session_factory(engine)() as session:
            row = PersonalDataAccess(
                staff_id=uuid.uuid4(), staff_role="admin", citizen_id=uuid.uuid4(), route="x"
            )
            session.add(row)  # no such staff or citizen: the foreign keys refuse it at the commit
            scope = _scope(app, "POST", "test_session", session)
            cors = (b"access-control-allow-origin", b"*")
            start: dict[str, Any] = {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json"), (b"etag", b'"1"'), cors],
            }
            await hook(start, scope)  # type: ignore[arg-type]
            assert start["status"] == 409
            headers = dict(start["headers"])
            assert headers[b"content-type"] == b"application/problem+json" and b"etag" not in headers
            assert headers[b"access-control-allow-origin"] == b"*"
            body: dict[str, Any] = {"type": "http.response.body", "body": b'{"id": 1}', "more_body": stream}
            await hook(body, scope)  # type: ignore[arg-type]
            assert body["more_body"] is False and int(headers[b"content-length"]) == len(body["body"])
            assert b'"code":"conflict"' in body["body"] and b'"instance":"/api/v1/x"' in body["body"]
            if stream:  # the stream's next chunk is refused: the answer was complete already
                chunk: Any = {"type": "http.response.body", "body": b"data: 2\n\n", "more_body": True}
                with pytest.raises(RuntimeError):
                    await hook(chunk, scope)
        async with session_factory(engine)() as s:
            assert await s.get(PersonalDataAccess, row.id) is None


async def test_a_plugin_built_without_the_apps_answer_still_refuses_the_2xx(
    engine: AsyncEngine, app: Litestar
) -> None:
    from backend.db import finish_session_handler

    hook = finish_session_handler("test_session")
    async with session_factory(engine)() as session:
        session.add(
            PersonalDataAccess(staff_id=uuid.uuid4(), staff_role="admin", citizen_id=uuid.uuid4(), route="x")
        )
        scope = _scope(app, "POST", "test_session", session)
        start: Any = {"type": "http.response.start", "status": 200, "headers": []}
        await hook(start, scope)
        body: Any = {"type": "http.response.body", "body": b"{}", "more_body": False}
        await hook(body, scope)
    assert start["status"] == 503 and dict(start["headers"])[b"retry-after"] == b"1" and body["body"] == b""
