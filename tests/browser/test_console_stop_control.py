"""The dispatcher's hand on a plan in a real browser (issue 20): a stop moved later in its route and pinned from
the console's plan view; the API's answer (new order, route version) is what the page then shows."""

from datetime import timedelta
from typing import Any

import pytest

from schemas.base import to_vn, utcnow
from tests.browser.conftest import LiveServer, shot, sign_in

pytestmark = pytest.mark.browser

OFFICE = "82-BD-05"  # dispatcher05, courier09 and courier10
PROCEDURE = "1.004873"


def _book_day(live: LiveServer) -> Any:
    """Five home pickups on the next weekday after today, around the office; the day."""
    po = live.http.get(f"/api/v1/organisations/{OFFICE}").json()
    day = (to_vn(utcnow()) + timedelta(days=1)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    booked = 0
    for n in range(60, 72):
        if booked >= 5:
            break
        lat, lon = po["lat"] + 0.003 * (n % 4 - 2), po["lon"] + 0.003 * (n % 3 - 1)
        slots = live.http.get(
            "/api/v1/slots",
            params={"kind": "pickup", "lat": lat, "lon": lon, "from": str(day), "to": str(day),
                    "procedure": PROCEDURE},
        )  # fmt: skip
        assert slots.status_code == 200, slots.text
        body = slots.json()
        open_slots = [s for s in body.get("items", body) if s["remaining"] > 0]
        if not open_slots:
            continue
        r = live.http.post(
            "/api/v1/appointments",
            json={"kind": "pickup", "start": open_slots[0]["start"], "lat": lat, "lon": lon,
                  "procedure": PROCEDURE, "citizen_phone": f"+849000000{n % 40 + 1:02d}"},
            headers={**live.staff("dispatcher05"), "Idempotency-Key": f"stop-control-{n}"},
        )  # fmt: skip
        booked += r.status_code == 201
    assert booked >= 3, "not enough bookable windows around the office"
    return day


def _first_route_rows(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#plan-routes details.route:first-of-type tbody tr", "rows => rows.map(r => r.dataset.stop)"
    )


def test_dispatcher_moves_and_pins_a_stop(live_server: LiveServer, context: Any) -> None:
    live = live_server
    day = _book_day(live)
    page = context.new_page()
    sign_in(page, live.base_url, "dispatcher05")
    page.wait_for_url("**/console/dispatcher**")
    page.fill("#plan-date", str(day))
    page.dispatch_event("#plan-date", "change")
    page.click("#plan-create")
    page.wait_for_selector("#plan-state")
    page.wait_for_function(
        "['done','failed'].some(s => document.querySelector('#plan-state')?.className.includes('plan-' + s))",
        timeout=90_000,
    )
    assert "plan-done" in (page.get_attribute("#plan-state", "class") or ""), page.text_content(
        "#plan-status"
    )
    before = _first_route_rows(page)
    assert len(before) >= 2, page.inner_html("#plan-routes")
    assert "v1" in page.text_content("#plan-routes details.route:first-of-type summary")

    # The first stop one place later: the page shows the API's new order and the route's version 2.
    page.click(f"button.stop-down[data-stop='{before[0]}']")
    page.wait_for_function(
        "document.querySelector('#plan-routes details.route summary')?.textContent.includes('v2')"
    )
    after = _first_route_rows(page)
    assert after[:2] == [before[1], before[0]] and sorted(after) == sorted(before)

    # Pin it: marked on the page, and the plan's answer says so.
    page.click(f"button.stop-pin[data-stop='{before[0]}']")
    page.wait_for_selector(f"tr.pinned[data-stop='{before[0]}']")
    plan_id = page.eval_on_selector("#plan-list", "s => s.value")
    plan = live.http.get(f"/api/v1/plans/{plan_id}", headers=live.staff("dispatcher05")).json()
    stop = next(s for r in plan["routes"] for s in r["stops"] if s["id"] == before[0])
    assert stop["pinned"] is True and stop["seq"] == 2
    shot(page, "dispatcher-stop-control")
