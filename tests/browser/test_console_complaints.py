"""The complaints page in a real browser (issue 23): a citizen's complaint about a commune desk is listed for
that desk's clerk (desk11, the centre of 82-BD-10's commune) as received; the clerk classifies it and assigns it
to the post office with a deadline in working days; an overdue complaint is highlighted in the overdue list; the
clerk's answer to a complaint another organisation is responsible for shows the API's refusal; the post office's
dispatcher (dispatcher10) answers and closes it. Its own citizen (+84920000085), desk and office: the live
server's database is shared by every browser test, so nothing here counts globally."""

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, shot, sign_in

pytestmark = pytest.mark.browser

PHONE, OFFICE, CLERK, DISPATCHER = "+84920000085", "82-BD-10", "desk11", "dispatcher10"


def _desk_code(live: LiveServer) -> str:
    r = live.http.get(f"/api/v1/organisations/{OFFICE}")
    assert r.status_code == 200, r.text
    return f"82-MC-{r.json()['commune_code']}"


def _file(live: LiveServer, desk: str, text: str) -> str:
    body = {"subject": "desk", "desk": desk, "category": "other", "text": text}
    r = live.http.post("/api/v1/complaints", json=body, headers=live.citizen(PHONE))
    assert r.status_code == 201, r.text
    assert r.json()["received_by"] == desk
    return str(r.json()["id"])


async def _make_overdue(url: str, complaint_id: str) -> None:
    """Its due day three days ago (no API moves a deadline back)."""
    import uuid

    from backend.db import make_engine, session_factory
    from schemas.base import utcnow
    from schemas.feedback import Complaint
    from schemas.vntime import vn_date

    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            c = await session.get(Complaint, uuid.UUID(complaint_id))
            assert c is not None
            c.due_on = vn_date(utcnow()) - timedelta(days=3)
            session.add(c)
            await session.commit()
    finally:
        await engine.dispose()


def _in_thread(coro: Any) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(coro)
        except BaseException as e:  # reported in the test's thread
            errors.append(e)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    assert not errors, errors


def test_complaints_classified_assigned_answered_closed(live_server: LiveServer, context: Any) -> None:
    live = live_server
    desk = _desk_code(live)
    cid = _file(live, desk, "Cán bộ Một cửa hẹn trả kết quả nhưng không có. (h2-browser)")
    late = _file(live, desk, "Phản ánh đã quá hạn trả lời. (h2-browser)")
    r = live.http.post(
        f"/api/v1/complaints/{late}/assign",
        json={"org": desk, "deadline_days": 1},
        headers=live.staff(CLERK),
    )
    assert r.status_code == 200, r.text
    _in_thread(_make_overdue(live.database_url, late))

    page = context.new_page()
    sign_in(page, live.base_url, CLERK)
    page.wait_for_url("**/console/desk**")
    page.click("#nav-complaints")
    page.wait_for_url("**/console/complaints**")
    page.wait_for_selector("body[data-loaded='yes']")
    row = page.locator(f"#list tr[data-id='{cid}']")
    assert row.count() == 1 and "overdue" not in (row.get_attribute("class") or "")
    # classify (attitude) and assign to the post office, 5 working days
    row.click()
    page.wait_for_selector(f"#detail[data-id='{cid}'] #assign-form")
    page.select_option("#c-category", "attitude")
    page.fill("#c-org", OFFICE)
    page.fill("#c-days", "5")
    page.click("#c-assign")
    page.wait_for_selector("#c-status[data-status='assigned']")
    status = page.locator("#c-status").inner_text()
    assert "5 ngày làm việc" in status, status
    got = live.http.get(f"/api/v1/complaints/{cid}", headers=live.staff(CLERK)).json()
    assert (got["status"], got["org"], got["category"], got["deadline_days"]) == (
        "assigned",
        OFFICE,
        "attitude",
        5,
    )
    # the overdue list highlights the late one
    page.click(".tile[data-view='overdue']")
    overdue_row = page.locator(f"#list tr[data-id='{late}']")
    overdue_row.wait_for()
    assert "overdue" in (overdue_row.get_attribute("class") or "")
    assert "quá hạn" in overdue_row.locator("td.due").inner_text()
    # the desk is not responsible for the assigned one: the API refuses its answer, the page says so
    page.click(".tile[data-view='assigned']")
    page.locator(f"#list tr[data-id='{cid}']").click()
    page.wait_for_selector(f"#detail[data-id='{cid}'] #answer-form")
    page.fill("#c-answer-text", "Thử trả lời thay.")
    page.click("#c-answer")
    page.wait_for_selector("#toast.error")
    assert (
        live.http.get(f"/api/v1/complaints/{cid}", headers=live.staff(CLERK)).json()["status"] == "assigned"
    )
    shot(page, "console-complaints")
    page.click("#signout")

    # the post office answers and closes it
    page.wait_for_url("**/console/login**")
    sign_in(page, live.base_url, DISPATCHER)
    page.wait_for_url("**/console/dispatcher**")
    page.goto(f"{live.base_url}/console/complaints#assigned")
    page.wait_for_selector("body[data-loaded='yes']")
    page.locator(f"#list tr[data-id='{cid}']").click()
    page.wait_for_selector(f"#detail[data-id='{cid}'] #answer-form")
    page.fill("#c-answer-text", "Bưu điện đã làm việc với Một cửa; kết quả được chuyển ngay trong ngày.")
    page.click("#c-answer")
    page.wait_for_selector("#c-status[data-status='answered']")
    assert "kết quả được chuyển" in page.locator("#c-answer-shown").inner_text()
    page.click("#c-close")
    page.wait_for_selector("#c-status[data-status='closed']")
    page.click(".tile[data-view='closed']")
    page.locator(f"#list tr[data-id='{cid}']").wait_for()
    got = live.http.get(f"/api/v1/complaints/{cid}", headers=live.citizen(PHONE)).json()
    assert got["status"] == "closed" and got["answered_on_time"] is True
    assert [e["type"] for e in got["events"]][:1] == ["filed"]
