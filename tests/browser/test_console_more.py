"""The rest of the console in a real browser: an outgoing batch and its printable manifest with Code 128
barcodes, a home appointment booked for a citizen, and the dispatcher's plan with its map."""

from datetime import timedelta
from typing import Any

import pytest

from schemas.base import to_vn, utcnow
from tests.browser.conftest import LiveServer, shot, sign_in
from tests.browser.test_console_desk import PO, confirm, desk_code, handover, pickup

pytestmark = pytest.mark.browser

# Code 128 widths (bar, space, ...) by symbol value, ISO/IEC 15417: to read the printed barcodes back.
START_B, STOP = 104, 106


def decode_code128(widths: list[int], table: dict[str, int]) -> str:
    """Symbol values from bar/space widths, checksum checked, as text (code set B)."""
    assert len(widths) % 6 == 1, len(widths)
    symbols = ["".join(map(str, widths[i : i + 6])) for i in range(0, len(widths) - 7, 6)]
    values = [table[s] for s in symbols]
    assert values[0] == START_B and "".join(map(str, widths[-7:])) == "2331112"
    *data, check = values[1:]
    assert (START_B + sum(v * (i + 1) for i, v in enumerate(data))) % 103 == check
    return "".join(chr(v + 32) for v in data)


def bar_widths(page: Any, selector: str) -> list[int]:
    """Bars and spaces of the first SVG barcode under ``selector``, in modules."""
    rects = page.eval_on_selector(
        selector,
        "svg => [...svg.querySelectorAll('g rect')].map(r => [Number(r.getAttribute('x')), Number(r.getAttribute('width'))])",
    )
    module = min(w for _, w in rects)
    widths: list[int] = []
    for i, (x, w) in enumerate(rects):
        if i:
            prev_x, prev_w = rects[i - 1]
            widths.append(round((x - prev_x - prev_w) / module))
        widths.append(round(w / module))
    return widths


def test_send_batch_and_print_manifest(live_server: LiveServer, context: Any) -> None:
    live = live_server
    desk = desk_code(live)
    items = [pickup(live, f"+849000000{n:02d}") for n in (21, 22)]
    h = handover(live, "courier01", PO, items)
    confirm(live, "dispatcher01", h["id"], items)
    h = handover(live, "dispatcher01", desk, items)
    confirm(live, "desk02", h["id"], items)

    page = context.new_page()
    sign_in(page, live.base_url, "desk02")
    page.wait_for_url("**/console/desk**")
    page.click("a[data-tab='send']")
    agency = desk.replace("82-MC-", "82-UB-")
    page.wait_for_selector(f"#send-to option[value='{agency}']", state="attached")
    page.select_option("#send-to", agency)
    page.fill("#send-seal", "NP-0042")
    for item in items:
        page.fill("#send-scan", item)
        page.press("#send-scan", "Enter")
        page.wait_for_selector(f"#send-items tr[data-item='{item}']")
    page.wait_for_function("!document.querySelector('#send-items').textContent.includes('…')")
    shot(page, "desk-send")
    with context.expect_page() as popup:
        page.click("#send-create")
    manifest = popup.value
    manifest.wait_for_selector("svg.barcode")
    manifest.set_viewport_size({"width": 1366, "height": 768})
    assert manifest.text_content("#manifest-to") and agency in (manifest.text_content("#manifest-to") or "")
    text = manifest.text_content("#manifest") or ""
    assert "Bên giao" in text and "Bên nhận" in text and "(Ký, ghi rõ họ tên)" in text and "NP-0042" in text
    codes = manifest.eval_on_selector_all("svg.barcode", "els => els.map(e => e.dataset.code)")
    assert sorted(codes) == sorted(items)
    # Read the barcodes back from the drawn bars (widths -> Code 128 symbols -> text, checksum checked).
    patterns = manifest.evaluate("async () => (await import('/console/static/js/barcode.js')).PATTERNS")
    assert len(patterns) == 107 and len(set(patterns)) == 107
    # Spot checks against ISO/IEC 15417's table: start B, stop, 'H' (40), 'S' (51), 'V' (54), '0' (16).
    assert patterns[104] == "211214" and patterns[106] == "2331112"
    assert (patterns[40], patterns[51], patterns[54], patterns[16]) == (
        "231113",
        "213113",
        "311123",
        "123122",
    )
    table = {p: v for v, p in enumerate(patterns)}
    for i in range(len(items)):
        widths = bar_widths(manifest, f"tbody tr:nth-child({i + 1}) svg.barcode")
        assert decode_code128(widths, table) == manifest.text_content(f"tbody tr:nth-child({i + 1}) td.mono")
    shot(manifest, "desk-manifest")
    r = live.http.get("/api/v1/handovers?direction=outgoing&status=pending", headers=live.staff("desk02"))
    assert any(sorted(i["item_id"] for i in x["items"]) == sorted(items) for x in r.json()["items"])


def test_book_home_appointment_for_a_citizen(live_server: LiveServer, context: Any) -> None:
    live = live_server
    page = context.new_page()
    sign_in(page, live.base_url, "desk02")
    page.wait_for_url("**/console/desk**")
    page.click("a[data-tab='book']")
    page.wait_for_selector("#book-procedure option[value='1.004873']", state="attached")
    page.fill("#book-phone", "0900000031")
    page.select_option("#book-procedure", "1.004873")
    page.fill("#book-address", "12 đường Nguyễn Huệ")
    page.click("#book-form button[type='submit']")
    page.wait_for_selector("button.slot")
    shot(page, "desk-book")
    page.click("button.slot >> nth=0")
    page.wait_for_selector("#book-done")
    r = live.http.get("/api/v1/appointments", headers=live.citizen("+84900000031"))
    assert r.status_code == 200
    assert r.json()["total"] >= 1


def test_dispatcher_plans_tomorrow(live_server: LiveServer, context: Any) -> None:
    live = live_server
    po = live.http.get(f"/api/v1/organisations/{PO}").json()
    tomorrow = (to_vn(utcnow()) + timedelta(days=1)).date()
    # Appointments for tomorrow so the plan has stops (placed around the post office's served communes).
    booked = 0
    for n in range(41, 47):
        lat, lon = po["lat"] + 0.004 * (n - 43), po["lon"] + 0.003 * (n % 3)
        slots = live.http.get(
            "/api/v1/slots",
            params={
                "kind": "pickup",
                "lat": lat,
                "lon": lon,
                "from": str(tomorrow),
                "to": str(tomorrow + timedelta(days=3)),
                "procedure": "1.004873",
            },
        )
        open_slots = (
            [s for s in slots.json().get("items", slots.json()) if s["remaining"] > 0]
            if slots.status_code == 200
            else []
        )
        if not open_slots:
            continue
        r = live.http.post(
            "/api/v1/appointments",
            json={
                "kind": "pickup",
                "start": open_slots[0]["start"],
                "lat": lat,
                "lon": lon,
                "procedure": "1.004873",
                "citizen_phone": f"+849000000{n:02d}",
            },
            headers={**live.staff("dispatcher01"), "Idempotency-Key": f"console-{n}"},
        )
        booked += r.status_code == 201
    page = context.new_page()
    sign_in(page, live.base_url, "dispatcher01")
    page.wait_for_url("**/console/dispatcher**")
    assert page.input_value("#plan-date") == str(tomorrow)
    page.click("#plan-create")
    page.wait_for_selector("#plan-state")
    page.wait_for_function(
        "['done','failed'].some(s => document.querySelector('#plan-state')?.className.includes('plan-' + s))",
        timeout=90_000,
    )
    assert "plan-done" in (page.get_attribute("#plan-state", "class") or ""), page.text_content(
        "#plan-status"
    )
    page.wait_for_selector("#plan-map-img")
    shot(page, "dispatcher-plan")
    page.click("#plan-publish")
    page.wait_for_selector("#plan-state.plan-published")
    # courier01 reports a position: the dispatcher sees it (courier02 has none yet).
    r = live.http.post(
        "/api/v1/couriers/me/location",
        json={"lat": po["lat"] + 0.001, "lon": po["lon"], "accuracy": 8},
        headers=live.staff("courier01"),
    )
    assert r.status_code == 201, r.text
    page.click("a[data-tab='live']")
    page.wait_for_selector("#live-table")
    rows = page.eval_on_selector_all("#live-table tbody tr", "rows => rows.map(r => r.textContent)")
    assert len(rows) == 2  # courier01 and courier02 work at 82-BD-01
    courier01 = next(r for r in rows if "courier01" in r)
    assert f"{po['lat'] + 0.001:.4f}" in courier01
    assert "chưa có" in next(r for r in rows if "courier02" in r)
    shot(page, "dispatcher-live")


def test_dispatcher_edits_shifts_and_booking_rules(live_server: LiveServer, context: Any) -> None:
    live = live_server
    office = "82-BD-03"  # dispatcher03, courier05 and courier06
    admin = live.staff("admin")
    couriers = live.http.get(
        "/api/v1/staff", params={"role": "courier", "org": office, "active": "true"}, headers=admin
    ).json()["items"]
    target = next(c for c in couriers if c["username"] == "courier06")
    url = f"/api/v1/couriers/{target['id']}/profile"
    original = live.http.get(url, headers=admin).json()
    rules_url = f"/api/v1/post-offices/{office}/booking-settings"
    rules_before = live.http.get(rules_url, headers=admin).json()

    page = context.new_page()
    sign_in(page, live.base_url, "dispatcher03")
    page.wait_for_url("**/console/dispatcher**")
    page.click("a[data-tab='team']")
    page.wait_for_selector("#team-table")
    rows = page.eval_on_selector_all("#team-table tbody tr", "rows => rows.map(r => r.textContent)")
    assert len(rows) == 2 and any("courier05" in r for r in rows) and any("courier06" in r for r in rows)
    row = "#team-table tbody tr:has-text('courier06')"
    page.fill(f"{row} input[data-day='1']", "13:00-17:00, 07:30-11:30")
    page.fill(f"{row} input[data-day='6']", "")
    page.click(f"{row} button[data-courier='courier06']")
    page.wait_for_function(
        "document.querySelector(\"#team-table tbody tr:nth-child(2) input[data-day='1']\") !== null"
    )
    page.wait_for_selector("#toast:has-text('courier06')")
    saved = live.http.get(url, headers=admin).json()
    assert saved["shifts"]["1"] == [["07:30", "11:30"], ["13:00", "17:00"]] and "6" not in saved["shifts"]
    page.fill(f"{row} input[data-day='2']", "7h-9h")  # refused with the API's own problem text
    page.click(f"{row} button[data-courier='courier06']")
    page.wait_for_selector("#toast.error")

    assert page.input_value("#rules-form input[name='window_minutes']") == str(rules_before["window_minutes"])
    page.fill("#rules-form input[name='window_minutes']", "90")
    page.click("#rules-save")
    page.wait_for_selector("#toast.info")
    assert live.http.get(rules_url, headers=admin).json()["window_minutes"] == 90
    shot(page, "dispatcher-team")

    restore = {
        k: original[k] for k in ("vehicle", "capacity_items", "capacity_kg", "skills", "home_lat", "home_lon")
    }
    restore["shifts"] = {d: (v if isinstance(v[0], list) else [v]) for d, v in original["shifts"].items()}
    assert live.http.put(url, json=restore, headers=admin).status_code == 200
    keys = (
        "window_minutes",
        "min_notice_minutes",
        "horizon_days",
        "cutoff_minutes",
        "travel_minutes",
        "service_minutes",
    )
    assert live.http.put(rules_url, json={k: rules_before[k] for k in keys}, headers=admin).status_code == 200
