"""Import of past dossiers: a good file lands in the report; one bad row rejects the whole file, by line."""

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.reporting.importer import SERIAL_START, main
from schemas import s10
from schemas.dossiers import Dossier
from schemas.enums import OrgKind
from tests.api.test_reporting_support import new_org, two_procedures
from tests.conftest import staff_headers

Client = httpx.AsyncClient
HEADER = "code,procedure_code,agency_code,channel,postal_pickup,postal_return,received_at,due_at,resolved_at,returned_at"


async def imported(engine: AsyncEngine, codes: list[str]) -> list[Dossier]:
    async with session_factory(engine)() as session:
        rows = await session.exec(select(Dossier).where(col(Dossier.agency_code).in_(codes)))
        return list(rows.all())


async def setup(engine: AsyncEngine) -> tuple[Any, Any, Any, Any, str]:
    desk = await new_org(engine)
    agency = await new_org(engine, OrgKind.agency)
    p1, p2 = await two_procedures(engine)
    return desk, agency, p1, p2, uuid.uuid4().hex[:6]


def good_file(tag: str, agency: str, p1: str, p2: str) -> str:
    return "\n".join(
        [
            HEADER,
            # resolved early (due 2023-05-12), result returned by post
            f"{tag}-1,{p1},{agency},postal,1,1,2023-05-04 08:30,2023-05-12,2023-05-10 10:00,2023-05-11 09:00",
            # the Vietnamese date format; resolved late
            f"{tag}-2,{p2},{agency},online,0,0,05/05/2023 14:00,09/05/2023,15/05/2023 10:00,",
            # still in progress, overdue at the end of May
            f"{tag}-3,{p1},{agency},direct,0,0,2023-05-20T09:00:00+07:00,2023-05-25,,",
        ]
    )


async def test_admin_upload_then_report(client: Client, engine: AsyncEngine) -> None:
    desk, agency, p1, p2, tag = await setup(engine)
    admin = await staff_headers(client, "admin")
    body = good_file(tag, agency.code, p1.code, p2.code).encode("utf-8-sig")
    files = {"file": ("old-system-2023.csv", body, "text/csv")}
    dry = await client.post("/api/v1/reports/imports", files=files, data={"org": desk.code, "dry_run": "true"},
                            headers=admin)  # fmt: skip
    assert dry.status_code == 201, dry.text
    assert dry.json()["imported"] == 0 and dry.json()["rows"] == 3
    assert await imported(engine, [f"{tag}-1"]) == []

    r = await client.post("/api/v1/reports/imports", files=files, data={"org": desk.code}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 3
    rows = sorted(
        await imported(engine, [f"{tag}-1", f"{tag}-2", f"{tag}-3"]), key=lambda d: d.agency_code or ""
    )
    assert [d.channel for d in rows] == ["home_pickup", "online", "direct"]
    assert all(d.desk_id == desk.id and d.agency_id == agency.id for d in rows)
    assert all(
        d.data == {"imported": True, "source": "old-system-2023.csv", "line": i + 2}
        for i, d in enumerate(rows)
    )
    assert [d.status for d in rows] == ["delivered", "result_ready", "processing"]
    for d in rows:
        assert s10.is_valid(d.item_id) and int(s10.parse(d.item_id).serial) >= SERIAL_START

    report = await client.get(
        "/api/v1/reports/dossiers",
        params={"from": "2023-05-01", "to": "2023-05-31", "org": desk.code, "group_by": "agency"},
        headers=admin,
    )
    total = report.json()["total"]
    assert (total["received_total"], total["received_online"], total["postal_home_pickup"]) == (3, 1, 1)
    assert (total["resolved_early"], total["resolved_late"], total["in_progress_overdue"]) == (1, 1, 1)
    assert total["postal_return"] == 1
    assert [row["group"] for row in report.json()["rows"]] == [agency.code]

    again = await client.post("/api/v1/reports/imports", files=files, data={"org": desk.code}, headers=admin)
    assert again.status_code == 422
    assert [e["line"] for e in again.json()["errors"]] == [2, 3, 4]
    assert "already imported" in again.json()["errors"][0]["reason"]
    assert len(await imported(engine, [f"{tag}-1", f"{tag}-2", f"{tag}-3"])) == 3

    desk_user = await staff_headers(client, "desk01")
    assert (await client.post("/api/v1/reports/imports", files=files, headers=desk_user)).status_code == 403


async def test_bad_rows_reported_by_line_and_nothing_imported(client: Client, engine: AsyncEngine) -> None:
    _desk, agency, p1, p2, tag = await setup(engine)
    a = agency.code
    lines = [
        HEADER,
        f"{tag}-1,{p1.code},{a},direct,0,0,2023-06-01 09:00,2023-06-08,2023-06-05 09:00,",  # 2: fine
        f"{tag}-2,NO-SUCH-PROC,{a},direct,0,0,2023-06-01 09:00,2023-06-08,,",  # 3
        f"{tag}-3,{p2.code},{a},fax,0,0,2023-06-01 09:00,2023-06-08,,",  # 4
        f"{tag}-4,{p2.code},{a},online,1,0,2023-06-01 09:00,2023-06-08,,",  # 5: online cannot be picked up
        f"{tag}-5,{p2.code},{a},direct,0,0,2023-06-10 09:00,2023-06-08,,",  # 6: due before received
        f"{tag}-6,{p2.code},{a},direct,0,0,2023-06-01 09:00,2023-06-08,2023-05-30 09:00,",  # 7: resolved early?!
        f"{tag}-7,{p2.code},{a},direct,0,yes,2023-06-01 09:00,2023-06-08,,",  # 8: flag
        f"{tag}-8,{p2.code},{a},direct,0,0,31/02/2023 09:00,2023-06-08,,",  # 9: no such date
        f"{tag}-1,{p1.code},{a},direct,0,0,2023-06-01 09:00,2023-06-08,,",  # 10: same code as line 2
        f"{tag}-9,{p1.code},NO-SUCH-AGENCY,direct,0,0,2023-06-01 09:00,2023-06-08,,",  # 11
        f",{p1.code},{a},direct,0,0,2023-06-01 09:00,2023-06-08,,",  # 12: no code
        f"{tag}-10,{p1.code},{a},direct,0,0,2099-06-01 09:00,2099-06-08,,",  # 13: future
    ]
    admin = await staff_headers(client, "admin")
    files = {"file": ("bad.csv", "\n".join(lines).encode(), "text/csv")}
    r = await client.post("/api/v1/reports/imports", files=files, headers=admin)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["rows"] == 12 and problem["error_count"] == 11
    by_line = {e["line"]: e["reason"] for e in problem["errors"]}
    assert sorted(by_line) == list(range(3, 14))
    assert "NO-SUCH-PROC" in by_line[3]
    assert "channel" in by_line[4]
    assert "postal_pickup" in by_line[5]
    assert "due_at" in by_line[6]
    assert "resolved_at" in by_line[7]
    assert "postal_return" in by_line[8]
    assert "no such date" in by_line[9]
    assert "line 2" in by_line[10]
    assert "NO-SUCH-AGENCY" in by_line[11]
    assert "code is empty" in by_line[12]
    assert "future" in by_line[13]
    assert await imported(engine, [f"{tag}-{i}" for i in range(1, 11)]) == []

    missing = await client.post(
        "/api/v1/reports/imports",
        files={"file": ("x.csv", b"code,channel\nA,direct\n", "text/csv")},
        headers=admin,
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["line"] == 1
    assert "procedure_code" in missing.json()["errors"][0]["reason"]


async def test_command_line(engine: AsyncEngine, tmp_path: Path) -> None:
    _desk, agency, p1, p2, tag = await setup(engine)
    good = tmp_path / "good.csv"
    # semicolons, as some spreadsheet exports write them, and the agency given by --org
    good.write_text(good_file(tag, "", p1.code, p2.code).replace(",", ";"), encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    assert await asyncio.to_thread(main, str(good), agency.code, database_url=url) == 0
    stored = await imported(engine, [f"{tag}-1", f"{tag}-2", f"{tag}-3"])
    assert len(stored) == 3 and {d.agency_id for d in stored} == {agency.id}
    assert {d.desk_id for d in stored} == {None}

    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"\n{tag}-X,{p1.code},{agency.code},direct,0,0,,2023-05-12,,\n", encoding="utf-8")
    assert await asyncio.to_thread(main, str(bad), None, database_url=url) == 1
    assert await imported(engine, [f"{tag}-X"]) == []
    assert await asyncio.to_thread(main, str(tmp_path / "none.csv"), None, database_url=url) == 2
    assert await asyncio.to_thread(main, str(good), "NO-SUCH-ORG", database_url=url) == 2
