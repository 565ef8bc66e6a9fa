"""Cost of the typed answers (issue 19): ``python -m bench.answers [--rounds N]``.

An appointment answer (``AppointmentPublic``) now carries its fee quote and the procedure's documents as models
(``FeeQuote``, ``DocumentRequirement``) instead of plain dicts, and the booking answer is built and encoded on
the hottest write. This prints, per answer, the microseconds to build it and to encode it as JSON, for the
typed model and for the same fields typed as dicts (what it was before), and the cost of checking a slots
listing against ``SlotPage`` (which the service does not build: it sends its prebuilt dicts). Figures depend on
what else runs on the machine; compare the two rows of one run.
"""

import argparse
import timeit
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import SQLModel

from schemas.booking import (
    AppointmentEventPublic,
    AppointmentKind,
    AppointmentPublic,
    AppointmentStatus,
    BookingChannel,
    FeeQuote,
    SlotPage,
)
from schemas.catalogue import DocumentRequirement


class DictTyped(SQLModel):
    """AppointmentPublic as it was: fees, documents and the rebook offer typed as dicts."""

    id: uuid.UUID
    kind: AppointmentKind
    status: AppointmentStatus
    start: datetime
    end: datetime
    post_office: str
    post_office_name: str
    commune: str
    citizen_id: uuid.UUID
    citizen_phone: str | None = None
    procedure: str | None = None
    procedure_name: str | None = None
    documents: list[dict[str, Any]] | None = None
    dossier: str | None = None
    lat: float
    lon: float
    address: str | None = None
    note: str | None = None
    distance_km: float
    fees: dict[str, Any]
    channel: BookingChannel
    rebook_of: uuid.UUID | None = None
    outcome_code: str | None = None
    reason: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime
    events: list[AppointmentEventPublic] | None = None
    rebook: dict[str, Any] | None = None


FEES = {
    "postal": 22000,
    "fee": 0,
    "charge": 0,
    "total": 22000,
    "currency": "VND",
    "zone": "Z1",
    "distance_km": 3.42,
    "label_vi": "đến 5 km",
    "label_en": "up to 5 km",
}
DOCUMENTS = [
    {"id": f"d{i}", "name": "Tờ khai đăng ký khai sinh", "original": True, "quantity": 1, "optional": False}
    for i in range(4)
]


def _fields(typed: bool) -> dict[str, Any]:
    """The answer's fields as ``backend/booking/services/serialise.py`` passes them (typed: it validates the
    stored fee quote and the procedure's documents into their models)."""
    now = datetime.now(UTC)
    event = AppointmentEventPublic(
        seq=1, type="booked", at=now, actor_role="citizen", channel=BookingChannel.app
    )
    return {
        "id": uuid.uuid4(),
        "kind": AppointmentKind.pickup,
        "status": AppointmentStatus.booked,
        "start": now,
        "end": now,
        "post_office": "82-BD-01",
        "post_office_name": "Bưu cục Cao Lãnh",
        "commune": "Phường Cao Lãnh",
        "citizen_id": uuid.uuid4(),
        "procedure": "1.001193",
        "procedure_name": "Đăng ký khai sinh",
        "documents": [DocumentRequirement.model_validate(d) for d in DOCUMENTS] if typed else DOCUMENTS,
        "lat": 10.46,
        "lon": 105.63,
        "distance_km": 3.42,
        "fees": FeeQuote.model_validate(FEES) if typed else FEES,
        "channel": BookingChannel.app,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "events": [event],
    }


def _slots(windows: int) -> dict[str, Any]:
    items = [
        {"start": f"2026-12-{7 + i // 5:02d}T08:00:00+07:00", "end": "2026-12-07T10:00:00+07:00",
         "kind": "pickup", "remaining": 3, "post_office": "82-BD-01"}
        for i in range(windows)
    ]  # fmt: skip
    return {
        "items": items,
        "total": windows,
        "limit": windows,
        "offset": 0,
        "post_office": {"code": "82-BD-01", "name": "Bưu cục Cao Lãnh", "lat": 10.45, "lon": 105.63},
        "commune": {"code": "29869", "name": "Phường Cao Lãnh"},
        "place": {"lat": 10.46, "lon": 105.63, "source": "coordinates"},
        "fees": FEES,
        "documents": DOCUMENTS,
    }


def _best(fn: Any, rounds: int) -> float:
    return min(timeit.repeat(fn, number=rounds, repeat=5)) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args()
    print(f"{'answer':50} {'build µs':>9} {'encode µs':>10}")
    for name, model, typed in (
        ("AppointmentPublic, fees/documents as dicts", DictTyped, False),
        ("AppointmentPublic, FeeQuote/DocumentRequirement", AppointmentPublic, True),
    ):
        built = model(**_fields(typed))
        build = _best(lambda m=model, t=typed: m(**_fields(t)), args.rounds)
        encode = _best(built.model_dump_json, args.rounds)
        print(f"{name:50} {build:9.1f} {encode:10.1f}")
    listing = _slots(70)  # two weeks of five windows a day
    check = _best(lambda: SlotPage.model_validate(listing), max(1, args.rounds // 10))
    print(f"{'SlotPage check of 70 windows (not done when served)':50} {check:9.1f} {'-':>10}")


if __name__ == "__main__":
    main()
