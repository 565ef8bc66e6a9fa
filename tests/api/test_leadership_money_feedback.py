"""Province leadership reads the money and feedback reports of its province and nothing of another (issue 23):
the offices, agencies and organisations in each answer are the province's; naming an office elsewhere is 403;
a leader of another province sees none of province 82's rows."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.db import session_factory
from schemas.feedback import Complaint
from tests.api.test_leadership import _leader_of_other_province
from tests.conftest import staff_headers

pytestmark = pytest.mark.asyncio(loop_scope="session")

CATEGORY = "h2-province-scope"
REPORTS = (
    "/api/v1/reports/money/cash",
    "/api/v1/reports/money/outstanding",
    "/api/v1/reports/money/remittances-due",
    "/api/v1/reports/ratings",
    "/api/v1/reports/complaints",
)


def _units(path: str, body: dict[str, Any]) -> set[str]:
    key = {"cash": "office", "outstanding": "office", "remittances-due": "agency"}.get(
        path.rsplit("/", 1)[-1]
    )
    return {str(r.get(key) if key else r.get("group") or r.get("org") or "") for r in body["rows"]}


async def test_leadership_reads_its_provinces_money_and_feedback(client: httpx.AsyncClient) -> None:
    leader = await staff_headers(client, "leader01")
    for path in REPORTS:
        r = await client.get(path, headers=leader)
        assert r.status_code == 200, (path, r.text)
        assert all(u == "" or u.startswith("82-") for u in _units(path, r.json())), (path, r.json())
    r = await client.get(REPORTS[0], params={"office": "82-BD-01"}, headers=leader)
    assert r.status_code == 200 and {x["office"] for x in r.json()["rows"]} <= {"82-BD-01"}, r.text
    for office in ("01-BD-01", "nowhere"):
        r = await client.get(REPORTS[0], params={"office": office}, headers=leader)
        assert r.status_code == 403, r.text
        r = await client.get(REPORTS[1], params={"office": office}, headers=leader)
        assert r.status_code == 403, r.text
    r = await client.get(REPORTS[3], params={"format": "csv"}, headers=leader)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")


async def test_leadership_of_another_province_sees_nothing_of_82(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any
) -> None:
    other = await _leader_of_other_province(client, engine)
    admin = await staff_headers(client, "admin")
    for path in REPORTS:
        r = await client.get(path, headers=other)
        assert r.status_code == 200, (path, r.text)
        assert not any(u.startswith("82-") for u in _units(path, r.json())), (path, r.json())
    # a complaint of province 82 (category of this test only): its leader and admins see it, the other not
    office = demo.post_offices[2]
    async with session_factory(engine)() as session:
        session.add(
            Complaint(
                citizen_id=demo.citizens[2].id, subject="visit", category=CATEGORY, text="Thử / test",
                received_by_id=office.id, org_id=office.id,
            )
        )  # fmt: skip
        await session.commit()
    leader = await staff_headers(client, "leader01")
    for who, sees in ((leader, True), (admin, True), (other, False)):
        r = await client.get(REPORTS[4], headers=who)
        mine = [x for x in r.json()["rows"] if x["category"] == CATEGORY]
        assert bool(mine) is sees and all(x["org"] == office.code for x in mine), r.json()
    r = await client.get(REPORTS[0], params={"office": "82-BD-01"}, headers=other)
    assert r.status_code == 403
