"""Form II.06a on a hand-built month with known answers, CSV round trip, and who may see what."""

import csv
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.reporting.definitions import COUNT_FIELDS
from backend.reporting.export import BOM, read_csv
from tests.api.test_reporting_support import dossier, new_org, remove, store, two_procedures, vn
from tests.conftest import citizen_headers, staff_headers

Client = httpx.AsyncClient
URL = "/api/v1/reports/dossiers"


def only_counts(row: dict[str, Any]) -> dict[str, int]:
    return {k: row[k] for k in COUNT_FIELDS}


def expected(**kw: int) -> dict[str, int]:
    return {k: kw.get(k, 0) for k in COUNT_FIELDS}


async def march_2025(engine: AsyncEngine) -> tuple[Any, Any, Any, list[uuid.UUID]]:
    """Dossiers around March 2025 (no holidays in March 2025). Letters match the comments of the test."""
    desk = await new_org(engine)
    p1, p2 = await two_procedures(engine)
    ds = [
        # A: received in February, resolved early in March: carried over, early; result by post.
        dossier(p1, desk, received_at=vn(2025, 2, 25), due_at=vn(2025, 3, 5, 17), resolved_at=vn(2025, 3, 4),
                returned_at=vn(2025, 3, 5), postal_return=True),
        # B: paused two working days for a supplement; custody moved its due date from 10/3 to 12/3 on
        # resumption, so resolving on 12/3 is on time (the pause is not added a second time).
        dossier(p1, desk, received_at=vn(2025, 3, 3), due_at=vn(2025, 3, 12, 17), paused_working_days=2,
                resolved_at=vn(2025, 3, 12, 15)),
        # P: resolved on its due day but after the hour on the slip: late (custody's rule).
        dossier(p1, desk, received_at=vn(2025, 3, 17), due_at=vn(2025, 3, 19, 11, 30),
                resolved_at=vn(2025, 3, 19, 14)),
        # W: withdrawn by the citizen: counted apart, in no column of the form.
        dossier(p2, desk, received_at=vn(2025, 3, 4), due_at=vn(2025, 3, 11, 17), outcome="withdrawn"),
        # C: online, resolved on its due date (late afternoon): on time.
        dossier(p1, desk, channel="online", received_at=vn(2025, 3, 5), due_at=vn(2025, 3, 14, 17),
                resolved_at=vn(2025, 3, 14, 16, 30)),
        # D: picked up at home; only the (late) return is known: resolved late; result by post.
        dossier(p1, desk, channel="home_pickup", postal_pickup=True, postal_return=True,
                received_at=vn(2025, 3, 6, 10), due_at=vn(2025, 3, 13, 17), returned_at=vn(2025, 3, 17)),
        # E: handed in at a post office, still open after its due date: overdue.
        dossier(p1, desk, channel="post_office", postal_pickup=True, received_at=vn(2025, 3, 10),
                due_at=vn(2025, 3, 20, 17)),
        # F: online, due in April: within; its postal return is not counted (not resolved).
        dossier(p2, desk, channel="online", received_at=vn(2025, 3, 25), due_at=vn(2025, 4, 8, 17),
                postal_return=True),
        # G: received and resolved in February: not in the March report.
        dossier(p2, desk, received_at=vn(2025, 2, 10), due_at=vn(2025, 2, 17, 17), resolved_at=vn(2025, 2, 20)),
        # H: received in April: not in the March report.
        dossier(p2, desk, received_at=vn(2025, 4, 2), due_at=vn(2025, 4, 9, 17)),
        # I: paused on 24/3 before its due date (27/3) and still paused: judged when paused, within.
        dossier(p2, desk, received_at=vn(2025, 3, 20), due_at=vn(2025, 3, 27, 17), paused_at=vn(2025, 3, 24)),
        # J: received in February, overdue and still open at the end of March (resolved in April).
        dossier(p2, desk, received_at=vn(2025, 2, 26), due_at=vn(2025, 3, 3, 17), resolved_at=vn(2025, 4, 3)),
        # K: 18:00 UTC on 28/2 is 01:00 on 1/3 in Vietnam: new in March, not carried over; early.
        dossier(p2, desk, channel="online", received_at=datetime(2025, 2, 28, 18, tzinfo=UTC),
                due_at=vn(2025, 3, 10, 17), resolved_at=vn(2025, 3, 7)),
        # L: resolved 00:30 on 1/4 Vietnam time (still 31/3 in UTC): in progress at the end of March, within.
        dossier(p2, desk, received_at=vn(2025, 3, 27), due_at=vn(2025, 4, 3, 17),
                resolved_at=datetime(2025, 3, 31, 17, 30, tzinfo=UTC)),
        # M: online, received 23:30 on the last day: new, within.
        dossier(p2, desk, channel="online", received_at=vn(2025, 3, 31, 23, 30), due_at=vn(2025, 4, 7, 17)),
        # N: received in February, resolved after its due date in March: carried over, late.
        dossier(p2, desk, received_at=vn(2025, 2, 20), due_at=vn(2025, 2, 27, 17), resolved_at=vn(2025, 3, 3)),
        # O: accepted by the post but not yet by the desk: in no column.
        dossier(p2, desk, channel="home_pickup", postal_pickup=True, submitted_at=vn(2025, 3, 30)),
    ]  # fmt: skip
    return desk, p1, p2, await store(engine, ds)


async def test_known_month_totals_groups_rates_and_chaining(client: Client, engine: AsyncEngine) -> None:
    desk, p1, p2, ids = await march_2025(engine)
    admin = await staff_headers(client, "admin")
    try:
        params = {"from": "2025-03-01", "to": "2025-03-31", "org": desk.code, "group_by": "procedure"}
        r = await client.get(URL, params=params, headers=admin)
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["from"], body["to"], body["org"], body["as_of"]) == (
            "2025-03-01", "2025-03-31", desk.code, "2025-04-01T00:00:00+07:00",
        )  # fmt: skip
        total = body["total"]
        assert only_counts(total) == expected(
            received_total=13, received_online=4, received_direct_postal=6, carried_over=3,
            resolved_total=7, resolved_early=2, resolved_on_time=2, resolved_late=3,
            in_progress_total=6, in_progress_within=4, in_progress_overdue=2,
            postal_pickup=2, postal_home_pickup=1, postal_return=2, withdrawn=1,
        )  # fmt: skip
        assert (total["on_time_rate"], total["online_share"], total["postal_share"]) == (57.1, 40.0, 20.0)
        assert total["received_new"] == 10
        rows = {row["group"]: row for row in body["rows"]}
        assert set(rows) == {p1.code, p2.code}
        assert rows[p1.code]["name"] == p1.name
        assert only_counts(rows[p1.code]) == expected(
            received_total=6, received_online=1, received_direct_postal=4, carried_over=1,
            resolved_total=5, resolved_early=1, resolved_on_time=2, resolved_late=2,
            in_progress_total=1, in_progress_overdue=1,
            postal_pickup=2, postal_home_pickup=1, postal_return=2,
        )  # fmt: skip
        assert only_counts(rows[p2.code]) == expected(
            received_total=7, received_online=3, received_direct_postal=2, carried_over=2,
            resolved_total=2, resolved_early=1, resolved_late=1,
            in_progress_total=5, in_progress_within=4, in_progress_overdue=1, withdrawn=1,
        )  # fmt: skip

        by_field = (await client.get(URL, params={**params, "group_by": "field"}, headers=admin)).json()
        assert {row["group"] for row in by_field["rows"]} == {p1.field, p2.field}
        assert only_counts(by_field["total"]) == only_counts(total)

        # The previous month's "in progress" is exactly this month's "carried over" (A, J, N).
        feb = await client.get(
            URL, params={**params, "from": "2025-02-01", "to": "2025-02-28"}, headers=admin
        )
        assert feb.json()["total"]["in_progress_total"] == total["carried_over"] == 3
        assert feb.json()["total"]["resolved_total"] == 1  # G

        # Without the pause B would be late: the pause really moves the deadline.
        one_day = await client.get(
            URL, params={**params, "from": "2025-03-12", "to": "2025-03-12"}, headers=admin
        )
        assert only_counts(one_day.json()["total"])["resolved_on_time"] == 1
    finally:
        await remove(engine, ids)


async def test_csv_round_trip(client: Client, engine: AsyncEngine) -> None:
    desk, _p1, _p2, ids = await march_2025(engine)
    admin = await staff_headers(client, "admin")
    try:
        params = {"from": "2025-03-01", "to": "2025-03-31", "org": desk.code, "group_by": "field"}
        as_json = (await client.get(URL, params=params, headers=admin)).json()
        r = await client.get(URL, params={**params, "format": "csv"}, headers=admin)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment;") and desk.code in disposition
        assert r.content.startswith(BOM.encode("utf-8"))
        header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert "Từ kỳ trước chuyển qua / Carried over" in header
        parsed = read_csv(r.content)
        assert len(parsed) == len(as_json["rows"]) + 1
        for got, want in zip(parsed, [*as_json["rows"], as_json["total"]], strict=True):
            assert got == {k: want[k] for k in got}
        assert parsed[-1]["received_total"] == 13
    finally:
        await remove(engine, ids)


async def test_scoping_desks_agencies_and_roles(client: Client, engine: AsyncEngine, demo: Any) -> None:
    p1, _ = await two_procedures(engine)
    desk02 = demo.staff["desk02"].organisation_id
    desk03_code = (await client.get("/api/v1/me", headers=await staff_headers(client, "desk03"))).json()
    own = await client.get("/api/v1/me", headers=await staff_headers(client, "desk02"))
    desk02_code = own.json()["organisation_code"]
    params = {"from": "2019-06-01", "to": "2019-06-30"}
    h02, h03 = await staff_headers(client, "desk02"), await staff_headers(client, "desk03")
    before02 = (await client.get(URL, params=params, headers=h02)).json()["total"]["received_total"]
    before03 = (await client.get(URL, params=params, headers=h03)).json()["total"]["received_total"]
    d = dossier(p1, None, desk_id=desk02, received_at=vn(2019, 6, 10), due_at=vn(2019, 6, 14, 17))
    ids = await store(engine, [d])
    try:
        mine = await client.get(URL, params=params, headers=h02)
        assert mine.status_code == 200 and mine.json()["org"] == desk02_code
        assert mine.json()["total"]["received_total"] == before02 + 1
        assert mine.json()["total"]["in_progress_overdue"] >= 1
        same = await client.get(URL, params={**params, "org": desk02_code}, headers=h02)
        assert same.json()["total"] == mine.json()["total"]
        other = await client.get(URL, params=params, headers=h03)
        assert other.json()["total"]["received_total"] == before03
        assert other.json()["org"] == desk03_code["organisation_code"]
        peek = await client.get(URL, params={**params, "org": desk02_code}, headers=h03)
        assert peek.status_code == 403
        assert peek.headers["content-type"].startswith("application/problem+json")
        province = await client.get(URL, params={**params, "org": "82"}, headers=h02)
        assert province.status_code == 403
        admin = await staff_headers(client, "admin")
        whole = await client.get(URL, params={**params, "org": "82"}, headers=admin)
        assert whole.status_code == 200 and whole.json()["total"]["received_total"] >= 1
        assert (await client.get(URL, params={**params, "org": "nowhere"}, headers=admin)).status_code == 404
        for user in ("dispatcher01", "courier01"):
            assert (
                await client.get(URL, params=params, headers=await staff_headers(client, user))
            ).status_code == 403
        citizen = await citizen_headers(client, "+84900000007")
        assert (await client.get(URL, params=params, headers=citizen)).status_code == 403
        assert (await client.get(URL, params=params)).status_code == 401
        backwards = await client.get(URL, params={"from": "2019-06-30", "to": "2019-06-01"}, headers=h02)
        assert backwards.status_code == 422
        assert (
            await client.get(URL, params={**params, "group_by": "colour"}, headers=h02)
        ).status_code == 400
    finally:
        await remove(engine, ids)
