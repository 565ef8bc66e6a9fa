"""Import of the national procedure catalogue (issue 23): CSV with a BOM and JSON, a dry run that writes
nothing, a real import, an idempotent re-import, a changed row that adds one version, changed fees that add a
fee version, and bad rows rejected as a 422 listing their lines with nothing stored."""

import json
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, func, select

from backend.db import session_factory
from schemas.catalogue import Procedure
from schemas.catalogue_edits import CatalogueEvent, ProcedureVersion
from schemas.pricing import ProcedureFee
from tests.conftest import staff_headers

HEADER = "Mã thủ tục,Tên thủ tục,Lĩnh vực,Cấp thực hiện,Thời hạn giải quyết,Phí,Lệ phí,Thành phần hồ sơ,Căn cứ pháp lý"


def codes(n: int) -> list[str]:
    base = uuid.uuid4().int % 10**5
    return [f"8.{base:05d}{i}" for i in range(n)]


def csv_file(rows: list[str]) -> bytes:
    return ("\ufeff" + "\r\n".join([HEADER, *rows]) + "\r\n").encode("utf-8")


def good_rows(c: list[str]) -> list[str]:
    return [
        f'{c[0]},Cấp bản sao trích lục hộ tịch,Hộ tịch,Cấp xã,Trong ngày,0,8.000 đồng,"Tờ khai (bản chính)\nGiấy tờ tùy thân",Luật Hộ tịch 2014',
        f"{c[1]},Đăng ký kinh doanh hộ,Thành lập và hoạt động của hộ kinh doanh,Cấp Xã,03 ngày làm việc,Không,100.000,Giấy đề nghị; Bản sao CCCD,Nghị định 168/2025/NĐ-CP",
        f"{c[2]},Cấp phiếu lý lịch tư pháp,Lý lịch tư pháp,Cấp Tỉnh,10 ngày,200.000,0,Tờ khai,Luật Lý lịch tư pháp 2009",
    ]


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes, name: str = "tthc.csv", **form: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/catalogue/procedures/import",
        files={"file": (name, content, "text/csv" if name.endswith(".csv") else "application/json")},
        data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()},
        headers=headers,
    )


async def counts(engine: AsyncEngine, c: list[str]) -> tuple[int, int, int]:
    async with session_factory(engine)() as session:
        procs = (await session.exec(select(func.count()).where(col(Procedure.code).in_(c)))).one()
        versions = (
            await session.exec(select(func.count()).where(col(ProcedureVersion.procedure_code).in_(c)))
        ).one()
        fees = (await session.exec(select(func.count()).where(col(ProcedureFee.procedure_code).in_(c)))).one()
    return procs, versions, fees


async def test_csv_dry_run_import_and_idempotent_reimport(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    c = codes(3)
    content = csv_file(good_rows(c))

    r = await upload(client, admin, content, dry_run=True)
    assert r.status_code == 201, r.text
    dry = r.json()
    assert dry["dry_run"] is True and dry["format"] == "csv"
    assert (dry["rows"], dry["created"], dry["new_versions"], dry["unchanged"]) == (3, 3, 0, 0)
    assert [ch["line"] for ch in dry["changes"]] == [2, 4, 5]  # the quoted documents span two lines
    assert await counts(engine, c) == (0, 0, 0)  # nothing written

    r = await upload(client, admin, content)
    assert r.status_code == 201, r.text
    assert (r.json()["created"], r.json()["fee_versions"]) == (3, 3)
    assert await counts(engine, c) == (3, 3, 3)
    p = (await client.get(f"/api/v1/procedures/{c[0]}")).json()
    assert p["name"] == "Cấp bản sao trích lục hộ tịch" and p["processing_days"] == 0 and p["charge"] == 8000
    assert [(d["name"], d["original"]) for d in p["documents"]] == [
        ("Tờ khai (bản chính)", True),
        ("Giấy tờ tùy thân", False),
    ]
    p1 = (await client.get(f"/api/v1/procedures/{c[1]}")).json()
    assert p1["processing_days"] == 3 and p1["level"] == "commune" and p1["charge"] == 100000
    assert (await client.get(f"/api/v1/procedures/{c[2]}")).json()["level"] == "province"

    r = await upload(client, admin, content)  # the same export again: nothing changes
    assert r.status_code == 201, r.text
    assert (
        r.json()["unchanged"],
        r.json()["created"],
        r.json()["new_versions"],
        r.json()["fee_versions"],
    ) == (3, 0, 0, 0)
    assert await counts(engine, c) == (3, 3, 3)

    rows = good_rows(c)
    rows[1] = rows[1].replace("03 ngày làm việc", "02 ngày làm việc")
    rows[2] = rows[2].replace("200.000", "250.000")
    r = await upload(client, admin, csv_file(rows))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["new_versions"], body["unchanged"], body["fee_versions"]) == (1, 2, 1)
    changed = {ch["code"]: ch for ch in body["changes"]}
    assert changed[c[1]]["fields"] == ["processing_days"] and changed[c[1]]["action"] == "new_version"
    assert await counts(engine, c) == (3, 4, 4)
    assert (await client.get(f"/api/v1/procedures/{c[1]}")).json()["processing_days"] == 2
    versions = (await client.get(f"/api/v1/catalogue/procedures/{c[1]}/versions", headers=admin)).json()[
        "items"
    ]
    assert [v["seq"] for v in versions] == [1, 2] and versions[0]["effective_until"] == versions[1][
        "effective_from"
    ]
    async with session_factory(engine)() as session:
        imported = (
            await session.exec(select(CatalogueEvent).where(CatalogueEvent.type == "catalogue_imported"))
        ).all()
    assert len(imported) >= 3 and all(e.actor_role == "admin" for e in imported)


async def test_json_export_imports_the_same_way(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    admin = await staff_headers(client, "admin")
    c = codes(2)
    items = [
        {
            "ma_thu_tuc": c[0],
            "ten_thu_tuc": "Chứng thực chữ ký",
            "linh_vuc": "Chứng thực",
            "cap_thuc_hien": "Cấp Xã",
            "thoi_han_giai_quyet": "Trong ngày",
            "phi_le_phi": "Phí: 10.000 đồng/trường hợp",
            "thanh_phan_ho_so": ["Giấy tờ cần chứng thực", "Giấy tờ tùy thân"],
        },
        {
            "code": c[1],
            "name": "Đăng ký kết hôn",
            "field": "Hộ tịch",
            "level": "commune",
            "processing_days": 5,
            "documents": [{"name": "Tờ khai đăng ký kết hôn", "original": True}],
        },
    ]
    content = ("\ufeff" + json.dumps({"procedures": items}, ensure_ascii=False)).encode("utf-8")
    r = await upload(client, admin, content, name="tthc.json")
    assert r.status_code == 201, r.text
    assert r.json()["format"] == "json" and r.json()["created"] == 2 and r.json()["fee_versions"] == 1
    assert (await client.get(f"/api/v1/procedures/{c[0]}")).json()["fee"] == 10000
    r = await upload(client, admin, content, name="tthc.json")
    assert r.json()["unchanged"] == 2


async def test_bad_rows_are_a_422_with_their_lines_and_nothing_is_stored(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    admin = await staff_headers(client, "admin")
    c = codes(4)
    rows = [
        *good_rows(c[:3]),
        f"{c[3]},,Hộ tịch,Cấp xã,3 ngày,0,0,Tờ khai,x",  # no name
        f"{c[0]},Trùng mã,Hộ tịch,Cấp xã,3 ngày,0,0,Tờ khai,x",  # repeats a code
        f"{c[3]}x,Tên,Hộ tịch,Cấp huyện,3 ngày,0,0,Tờ khai,x",  # no district level since 2025
        f"{c[3]}y,Tên,Hộ tịch,Cấp xã,khi nào xong,0,0,Tờ khai,x",  # no time limit
        f"{c[3]}z,Tên,Hộ tịch,Cấp xã,3 ngày,nhiều tiền,0,Tờ khai,x",  # no amount
    ]
    r = await upload(client, admin, csv_file(rows))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "import_rejected"
    assert [e["line"] for e in problem["errors"]] == [6, 7, 8, 9, 10]
    assert "missing" in problem["errors"][0]["message"] and "line 2" in problem["errors"][1]["message"]
    assert await counts(engine, c) == (0, 0, 0)
    for content in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"procedures": 5}'):
        r = await upload(client, admin, content)
        assert r.status_code == 422 and r.json()["code"] == "import_rejected", r.text
    r = await upload(client, admin, csv_file(good_rows(c[:3])), effective_from="2001-01-01T00:00:00+07:00")
    assert r.status_code == 422 and r.json()["code"] == "catalogue_version_in_past"
    r = await upload(client, await staff_headers(client, "desk02"), csv_file(good_rows(c[:3])))
    assert r.status_code == 403
