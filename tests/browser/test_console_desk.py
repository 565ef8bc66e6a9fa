"""The desk clerk's day in a real browser: sign in, receive a handover with one item missing, watch a live
update arrive, open a dossier by scanning, send a batch and print its manifest, download the report CSV."""

import csv
import io
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, shot, sign_in

pytestmark = pytest.mark.browser

PROCEDURE = "1.004873"  # commune level, postal pickup and return allowed
PO = "82-BD-01"  # dispatcher01, courier01


def desk_code(live: LiveServer) -> str:
    r = live.http.get(f"/api/v1/organisations/{PO}")
    assert r.status_code == 200, r.text
    return f"82-MC-{r.json()['commune_code']}"


def pickup(live: LiveServer, phone: str) -> str:
    """A courier collects a dossier at home (as the custody journey test does); returns its item id."""
    code = live.http.get("/api/v1/handover-code", headers=live.citizen(phone)).json()["code"]
    docs = live.http.get(f"/api/v1/procedures/{PROCEDURE}").json()["documents"]
    body = {
        "procedure": PROCEDURE,
        "channel": "home_pickup",
        "citizen_phone": phone,
        "documents": [{"id": d["id"], "provided": True, "original": True} for d in docs],
        "seal_number": "SEAL-7",
        "fee_collected": 25000,
        "receipt_number": "BL-7",
        "confirmation": {"method": "code", "code": code},
        "place": "tại nhà công dân",
        "lat": 10.46,
        "lon": 105.63,
    }
    r = live.http.post("/api/v1/dossiers", json=body, headers=live.staff("courier01"))
    assert r.status_code == 201, r.text
    return str(r.json()["item_id"])


def handover(live: LiveServer, sender: str, to: str, items: list[str]) -> dict[str, Any]:
    r = live.http.post("/api/v1/handovers", json={"to": to, "items": items}, headers=live.staff(sender))
    assert r.status_code == 201, r.text
    return dict(r.json())


def confirm(live: LiveServer, receiver: str, handover_id: str, items: list[str]) -> None:
    r = live.http.post(
        f"/api/v1/handovers/{handover_id}/confirm", json={"scanned": items}, headers=live.staff(receiver)
    )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def at_post_office(live_server: LiveServer) -> list[str]:
    """Four dossiers collected by courier01 and received at the post office."""
    items = [pickup(live_server, f"+849000000{n:02d}") for n in range(11, 15)]
    h = handover(live_server, "courier01", PO, items)
    confirm(live_server, "dispatcher01", h["id"], items)
    return items


def count(page: Any, view: str) -> int:
    text = page.text_content(f"#count-{view}") or ""
    return int(text) if text.strip().isdigit() else -1


def test_desk_receive_live_and_report(
    live_server: LiveServer, context: Any, at_post_office: list[str]
) -> None:
    live = live_server
    desk = desk_code(live)
    batch, later = at_post_office[:3], at_post_office[3]
    sent = handover(live, "dispatcher01", desk, batch)

    page = context.new_page()
    sign_in(page, live.base_url, "desk02")
    page.wait_for_url("**/console/desk**")
    # The day at a glance: the three items on their way here are counted and listed.
    page.wait_for_function("document.querySelector('#count-incoming').textContent.trim() === '3'")
    for item in batch:
        page.wait_for_selector(f"#list tr[data-item='{item}']")
    assert count(page, "on_hand") == 0
    shot(page, "desk-today")

    # Receive: scan two of the three, plus one item that is not on the manifest.
    page.click("a[data-tab='receive']")
    page.click(f"button[data-handover='{sent['id']}']")
    page.fill("#receive-scan", batch[0].lower())  # scanners and typists: case does not matter
    page.press("#receive-scan", "Enter")
    page.fill("#receive-scan", batch[1])
    page.press("#receive-scan", "Enter")
    page.fill("#receive-scan", later)
    page.press("#receive-scan", "Enter")
    assert page.get_attribute(f"#receive-items tr[data-item='{batch[0]}']", "data-state") == "scanned"
    assert page.get_attribute(f"#receive-items tr[data-item='{batch[2]}']", "data-state") == "expected"
    assert page.get_attribute(f"#receive-items tr[data-item='{later}']", "data-state") == "extra"
    assert "2/3" in (page.text_content("#receive-count") or "")
    page.click("#receive-confirm")
    page.wait_for_selector("#receive-result.bad")
    assert page.get_attribute(f"#receive-items tr[data-item='{batch[2]}']", "data-state") == "missing"
    assert page.get_attribute(f"#receive-items tr[data-item='{later}']", "data-state") == "extra"
    result = page.text_content("#receive-result") or ""
    assert batch[2] in result and later in result and "THIẾU" in result
    shot(page, "desk-receive-discrepancy")
    # ...and it was recorded: the server holds the discrepancy, custody moved only for what was scanned.
    r = live.http.get(f"/api/v1/handovers/{sent['id']}", headers=live.staff("desk02"))
    body = r.json()
    assert body["status"] == "discrepancy"
    assert {(d["item_id"], d["kind"]) for d in body["discrepancies"]} == {
        (batch[2], "missing"),
        (later, "extra"),
    }
    assert (
        live.http.get(f"/api/v1/dossiers/{batch[0]}", headers=live.staff("desk02")).json()["status"]
        == "received"
    )

    # Live: the dashboard changes when the post office sends another batch, without a reload.
    page.click("a[data-tab='today']")
    page.wait_for_function("document.querySelector('#count-incoming').textContent.trim() === '0'")
    page.wait_for_function("document.querySelector('#count-on_hand').textContent.trim() === '2'")
    marker = page.evaluate("window.__noReload = 1")
    assert marker == 1
    # The desk feed (server-sent events) is connected; its slow safety poll (60 s) is not what we see here.
    page.wait_for_selector("#live[data-mode='sse']")
    events_before = int(page.get_attribute("#live", "data-events") or 0)
    handover(live, "dispatcher01", desk, [later])
    page.wait_for_function(
        "document.querySelector('#count-incoming').textContent.trim() === '1'", timeout=20_000
    )
    page.wait_for_selector(f"#list tr[data-item='{later}']", timeout=20_000)
    assert page.evaluate("window.__noReload") == 1  # same document: it was not reloaded
    assert int(page.get_attribute("#live", "data-events") or 0) > events_before

    # Scan an id at the top bar to open the dossier.
    page.fill("#scan", batch[0])
    page.press("#scan", "Enter")
    page.wait_for_selector("#dossier-id")
    assert page.text_content("#dossier-id") == batch[0]
    text = page.text_content("#dossier") or ""
    assert "Chuỗi lưu giữ" in text and "25.000" in text and "Hạn giải quyết" in text
    shot(page, "desk-dossier")

    # Report: table, chart and the CSV file (UTF-8 with BOM, bilingual header).
    page.click("a[data-tab='report']")
    page.wait_for_selector("#report-grid")
    page.wait_for_selector("#report-svg")
    with page.expect_download() as info:
        page.click("#report-csv")
    download = info.value
    data = open(download.path(), "rb").read()  # noqa: SIM115 - small file, read once
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][0] == "Nhóm / Group" and "Tổng số hồ sơ nhận giải quyết / Received total" in rows[0]
    assert rows[-1][0] == "total"
    assert download.suggested_filename.endswith(".csv")
    shot(page, "desk-report")

    # English switch.
    page.click("#lang")
    page.wait_for_function("document.querySelector(\"a[data-tab='report']\").textContent === 'Report'")
    page.click("#lang")
