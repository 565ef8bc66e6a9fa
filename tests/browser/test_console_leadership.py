"""The province leadership's page in a real browser (issue 23): leader01 signs in, sees form II.06a by commune
with every commune of the province listed and the communes without dossiers counted, the month chart, the legs
chart and the slowest legs (a home pickup carried to a commune desk today), the scorecards, the satisfaction and
money summaries, and downloads the CSV (with its BOM)."""

import asyncio
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from schemas.base import utcnow
from tests.browser.conftest import LiveServer, shot, sign_in

pytestmark = pytest.mark.browser


async def _carried_today(url: str) -> tuple[str, str, int]:
    """A home pickup collected two hours ago, at the post office an hour later, received by a commune desk now
    (rows and events written straight into the tables); its item id, its commune and the province's communes."""
    from backend.db import make_engine, session_factory
    from schemas import s10
    from schemas.catalogue import Procedure
    from schemas.dossiers import CustodianKind, Dossier, DossierEvent
    from schemas.orgs import Organisation
    from schemas.units import Commune

    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            po = (await session.exec(select(Organisation).where(Organisation.code == "82-BD-03"))).one()
            desk = (
                await session.exec(
                    select(Organisation).where(Organisation.code == f"82-MC-{po.commune_code}")
                )
            ).one()
            proc = (await session.exec(select(Procedure).limit(1))).one()
            now = utcnow()
            d = Dossier(item_id=s10.make("HS", 77_123_456), procedure_id=proc.id, channel="home_pickup",
                        postal_pickup=True, status="received", custodian_kind=CustodianKind.desk, desk_id=desk.id,
                        post_office_id=po.id, received_at=now, due_at=now + timedelta(days=5))  # fmt: skip
            session.add(d)
            await session.flush()
            for seq, (code, hours) in enumerate((("EMA", 2), ("EMB", 1), ("TNH", 0)), start=1):
                at = now - timedelta(hours=hours)
                session.add(
                    DossierEvent(dossier_id=d.id, seq=seq, code=code, status="x", actor_kind="staff", at=at)
                )
            communes = (
                await session.exec(
                    select(func.count()).select_from(Commune).where(Commune.province_code == "82")
                )
            ).one()
            await session.commit()
            return d.item_id, po.commune_code, int(communes)
    finally:
        await engine.dispose()


def _in_thread(coro: Any) -> Any:
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(asyncio.run(coro)))
    worker.start()
    worker.join()
    assert out, "writing the dossier failed (see the log)"
    return out[0]


def test_leadership_page_shows_units_legs_and_scorecards(
    live_server: LiveServer, context: Any, tmp_path: Path
) -> None:
    live = live_server
    item_id, commune, communes = _in_thread(_carried_today(live.database_url))
    page = context.new_page()
    sign_in(page, live.base_url, "leader01")
    page.wait_for_url("**/console/leadership**")
    page.wait_for_selector("body[data-loaded='yes']")
    # every commune listed (plus the total), ours with its dossier, the others empty
    rows = page.locator("#lead-units tbody tr")
    assert rows.count() >= communes + 1
    mine = page.locator(f"#lead-units tr[data-unit='{commune}']")
    assert mine.locator("td").nth(2).inner_text() == "1"
    # other browser tests share this server's database, so other communes may hold dossiers too: the summary
    # must count exactly the rows marked empty, and ours is not one of them
    empty = page.locator("#lead-units tr.empty-unit").count()
    assert 0 < empty <= communes - 1
    assert mine.get_attribute("class") is None or "empty-unit" not in (mine.get_attribute("class") or "")
    summary = page.locator("#lead-empty-summary").inner_text()
    assert summary.startswith(f"{empty}/{communes} "), summary
    # the charts: months (a line chart) and the legs' medians (one bar per leg)
    assert page.locator("#months-svg").count() == 1
    assert page.locator("#legs-svg rect.bar").count() == 5
    slow = page.locator(f"#lead-slowest tr[data-item='{item_id}']")
    assert slow.count() >= 1
    # scorecards: every courier of the province
    assert page.locator("#lead-couriers tbody tr").count() == 24
    # the province's satisfaction and money summaries (/reports/ratings, /complaints, /money/...): filled in,
    # with the province's units only
    assert "lượt đánh giá" in page.locator("#lead-satisfaction").inner_text()
    assert "Chưa thu (COD):" in page.locator("#lead-money").inner_text()
    for key in page.locator("#lead-remit tbody tr").evaluate_all("rows => rows.map(r => r.dataset.key)"):
        assert key.startswith("82-"), key
    shot(page, "console-leadership")
    with page.expect_download() as info:
        page.click("#csv-units")
    path = tmp_path / "units.csv"
    info.value.save_as(path)
    text = path.read_bytes().decode("utf-8")
    assert text.startswith("\ufeff") and commune in text
    # read-only: nothing on the page writes, and the API refuses a write with the same token
    token = page.evaluate("sessionStorage.getItem('console.token')")
    r = live.http.post(
        "/api/v1/handovers",
        json={"to": "82-BD-03", "items": []},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 403, r.text
