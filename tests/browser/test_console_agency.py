"""The deciding agency's day in a real browser (issue 23): sign in as the commune's People's Committee
(agency06), see what the desk sent, receive it by scanning (a malformed id and another agency's dossier show
the problem's Vietnamese text), decide each way (result ready, supplement with the missing documents, refusal
with its reason), watch the due-soon and overdue lists, and hand the decided dossiers back to the desk."""

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from schemas.base import utcnow
from tests.browser.conftest import LiveServer, shot, sign_in
from tests.browser.test_console_desk import confirm, handover

pytestmark = pytest.mark.browser

# Offices no other browser test uses: courier07 / dispatcher04 / desk05 / agency06; courier09 / ... / agency07.
PO, PO_B = "82-BD-04", "82-BD-05"


def _codes(live: LiveServer, office: str) -> tuple[str, str]:
    r = live.http.get(f"/api/v1/organisations/{office}")
    assert r.status_code == 200, r.text
    commune = r.json()["commune_code"]
    return f"82-MC-{commune}", f"82-UB-{commune}"


def _to_desk(
    live: LiveServer, courier: str, dispatcher: str, desk_user: str, office: str, items: list[str]
) -> None:
    desk, _ = _codes(live, office)
    h = handover(live, courier, office, items)
    confirm(live, dispatcher, h["id"], items)
    h = handover(live, dispatcher, desk, items)
    confirm(live, desk_user, h["id"], items)


def _pickup_by(live: LiveServer, courier: str, phone: str) -> str:
    """A home pickup by ``courier`` (the desk test's helper is courier01's)."""
    code = live.http.get("/api/v1/handover-code", headers=live.citizen(phone)).json()["code"]
    docs = live.http.get("/api/v1/procedures/1.004873").json()["documents"]
    body = {
        "procedure": "1.004873",
        "channel": "home_pickup",
        "citizen_phone": phone,
        "documents": [{"id": d["id"], "provided": True, "original": True} for d in docs],
        "confirmation": {"method": "code", "code": code},
        "place": "tại nhà công dân",
    }
    r = live.http.post("/api/v1/dossiers", json=body, headers=live.staff(courier))
    assert r.status_code == 201, r.text
    return str(r.json()["item_id"])


def _set_due(url: str, due: dict[str, Any]) -> None:
    """Move dossiers' due instants (a test cannot wait days for the clock): rows no API writes."""

    async def write() -> None:
        from sqlmodel import col, update

        from backend.db import make_engine, session_factory
        from schemas.dossiers import Dossier

        engine = make_engine(url)
        try:
            async with session_factory(engine)() as session:
                for item, at in due.items():
                    await session.exec(update(Dossier).where(col(Dossier.item_id) == item).values(due_at=at))
                await session.commit()
        finally:
            await engine.dispose()

    worker = threading.Thread(target=lambda: asyncio.run(write()))
    worker.start()
    worker.join()


def _scan(page: Any, text: str) -> str:
    page.evaluate("document.getElementById('scan-result').dataset.kind = ''")
    page.fill("#scan", text)
    page.press("#scan", "Enter")
    page.wait_for_selector("#scan-result[data-kind='good'], #scan-result[data-kind='bad']")
    return (
        str(page.get_attribute("#scan-result", "data-kind")) + " " + (page.text_content("#scan-result") or "")
    )


def _tile(page: Any, view: str, item: str | None = None) -> None:
    page.click(f".tile[data-view='{view}']")
    page.wait_for_selector(f"#list tbody[data-list='{view}']")
    if item:
        page.wait_for_selector(f"#list tr[data-item='{item}']")


def _count(page: Any, view: str) -> int:
    text = (page.text_content(f"#count-{view}") or "").strip()
    return int(text) if text.isdigit() else -1


def test_agency_receives_decides_and_hands_back(live_server: LiveServer, context: Any) -> None:
    live = live_server
    desk, agency = _codes(live, PO)
    desk_b, agency_b = _codes(live, PO_B)
    items = [_pickup_by(live, "courier07", f"+849000000{n}") for n in (35, 36, 37, 38)]
    _to_desk(live, "courier07", "dispatcher04", "desk05", PO, items)
    sent = handover(live, "desk05", agency, items)
    foreign = _pickup_by(live, "courier09", "+84900000039")
    _to_desk(live, "courier09", "dispatcher05", "desk06", PO_B, [foreign])
    handover(live, "desk06", agency_b, [foreign])

    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.base_url, "agency06")
    page.wait_for_url("**/console/agency**")
    # Incoming from the desk: the four, with the applicant's name (no phone) and the desk.
    page.wait_for_selector(f"#list tr[data-item='{items[0]}']")
    for item in items:
        assert page.is_visible(f"#list tr[data-item='{item}']")
    assert _count(page, "incoming") >= 4
    text = page.text_content("#list") or ""
    assert "Trung tâm Phục vụ hành chính công" in text and "+8490" not in text and "0900000035" not in text
    assert page.text_content(f"#list tr[data-item='{items[0]}'] td.applicant") not in ("", "—")
    assert foreign not in text
    shot(page, "agency-incoming")

    # Receive by scan: a malformed id and another agency's dossier show the problem's Vietnamese text.
    before = _count(page, "processing")
    bad = _scan(page, "HS12345")
    assert bad.startswith("bad") and "Mã bưu gửi không hợp lệ" in bad
    bad = _scan(page, foreign)
    assert bad.startswith("bad") and "Không tìm thấy hồ sơ" in bad and foreign in bad
    good = _scan(page, f" {items[0].lower()} ")  # as a scanner or a typist gives it
    assert good.startswith("good") and items[0] in good and "còn trong lô" in good
    again = _scan(page, items[0])
    assert again.startswith("bad") and "đã được nhận" in again
    for item in items[1:]:
        assert _scan(page, item).startswith("good")
    assert "đã nhận đủ lô" in (page.text_content("#scan-result") or "")
    page.wait_for_function(
        f"document.querySelector('#count-processing').textContent.trim() === '{before + 4}'"
    )
    assert (
        live.http.get(f"/api/v1/handovers/{sent['id']}", headers=live.staff("agency06")).json()["status"]
        == "confirmed"
    )
    # The foreign dossier was not touched: still on its way to its own agency.
    r = live.http.get(f"/api/v1/dossiers/{foreign}", headers=live.staff("desk06"))
    assert r.json()["status"] == "received" and r.json()["custodian"]["kind"] == "desk"

    # Processing: the legal deadline in working days and the days left.
    _tile(page, "processing", items[0])
    cell = page.text_content(f"#list tr[data-item='{items[0]}'] td.left") or ""
    assert "ngày làm việc" in cell
    shot(page, "agency-processing")

    # Due soon and overdue: two dossiers' clocks moved (the others keep the procedure's deadline).
    now = utcnow()
    _set_due(live.database_url, {items[2]: now - timedelta(days=7), items[3]: now + timedelta(hours=3)})
    _tile(page, "overdue", items[2])
    assert "late" in (page.get_attribute(f"#list tr[data-item='{items[2]}']", "class") or "")
    assert "quá hạn" in (page.text_content(f"#list tr[data-item='{items[2]}'] td.left") or "")
    assert not page.is_visible(f"#list tr[data-item='{items[3]}']")
    _tile(page, "due_soon", items[3])
    assert not page.is_visible(f"#list tr[data-item='{items[2]}']")

    # Decide each way. Result ready:
    _tile(page, "processing", items[0])
    page.click(f"#list tr[data-item='{items[0]}'] button[data-act='approve']")
    page.fill("#decide-code", "UB-2026-001")
    page.click("#decide-submit")
    page.wait_for_selector(f"#list tr[data-item='{items[0]}']", state="detached")
    # Supplement needed, with the missing documents (one from the procedure's list, one typed):
    page.click(f"#list tr[data-item='{items[1]}'] button[data-act='supplement']")
    page.click("#decide-submit")
    assert "ít nhất một giấy tờ" in (page.text_content("#decide-error") or "")
    page.check("#decide-docs input >> nth=0")
    page.fill("#decide-other", "Bản sao sổ hộ khẩu")
    page.click("#decide-submit")
    page.wait_for_selector(f"#list tr[data-item='{items[1]}']", state="detached")
    # Refusal, which needs its reason:
    page.click(f"#list tr[data-item='{items[2]}'] button[data-act='refuse']")
    page.click("#decide-submit")
    assert "lý do" in (page.text_content("#decide-error") or "")
    page.fill("#decide-reason", "Không đủ điều kiện theo quy định")
    page.click("#decide-submit")
    page.wait_for_selector(f"#list tr[data-item='{items[2]}']", state="detached")

    _tile(page, "supplement", items[1])
    row = page.text_content(f"#list tr[data-item='{items[1]}']") or ""
    assert "Bản sao sổ hộ khẩu" in row and "tạm dừng" in row
    d = live.http.get(f"/api/v1/dossiers/{items[1]}", headers=live.staff("desk05")).json()
    assert d["status"] == "awaiting_supplement" and "Bản sao sổ hộ khẩu" in d["missing_documents"]
    assert len(d["missing_documents"]) == 2

    _tile(page, "decided", items[0])
    assert "Có kết quả" in (page.text_content(f"#list tr[data-item='{items[0]}'] td.status") or "")
    refused = page.text_content(f"#list tr[data-item='{items[2]}'] td.status") or ""
    assert "Từ chối" in refused and "Không đủ điều kiện" in refused
    shot(page, "agency-decided")

    # Hand the two decided dossiers back to the desk; the desk's confirmation makes them results at the desk.
    page.check(f"input[data-pick='{items[0]}']")
    page.check(f"input[data-pick='{items[2]}']")
    page.click("#handback")
    page.wait_for_selector("a.handback-link")
    back = page.get_attribute("a.handback-link", "data-handover")
    page.wait_for_function(
        f"document.querySelector(\"#list tr[data-item='{items[0]}']\").textContent.includes('chờ Một cửa nhận')"
    )
    confirm(live, "desk05", str(back), [items[0], items[2]])
    for item in (items[0], items[2]):
        d = live.http.get(f"/api/v1/dossiers/{item}", headers=live.staff("desk05")).json()
        assert d["status"] == "result_ready" and d["custodian"]["org"] == desk
    _tile(page, "processing")
    _tile(page, "decided")
    assert not page.is_visible(f"#list tr[data-item='{items[0]}']")
    assert _count(page, "decided") >= 0

    # English on demand; the other agency's clerk never sees these dossiers.
    page.click("#lang")
    page.wait_for_function("document.getElementById('list-title').textContent.includes('Decided')")
    page.click("#lang")
    r = live.http.get("/api/v1/console/agency/dossiers?list=supplement", headers=live.staff("agency07"))
    assert r.status_code == 200 and items[1] not in r.text
    assert not errors, errors
    del desk_b
