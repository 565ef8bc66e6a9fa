"""What a visit costs the citizen, shown with the slots and stored with the appointment."""

from typing import Any

from backend.catalogue import tariff_pricing
from backend.catalogue.tariff_pricing import PriceBook
from schemas.booking import AppointmentKind
from schemas.catalogue import Procedure


def fees_for(
    kind: AppointmentKind,
    distance: float,
    proc: Procedure | None,
    book: PriceBook | None = None,
    *,
    province_code: str | None = None,
    groups: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Postal charge by kind and distance zone, plus the procedure's fee (phí) and charge (lệ phí), collected
    at pickup, less the exemption in force for the province, the procedure and the citizen's exempt ``groups``
    recorded by the desk (backend/catalogue/tariff_pricing.py; issue 21). A delivery collects only the
    postal charge: fees were paid when the dossier was filed. ``book`` holds the price versions in force (the
    quote names their ids); without it, the shipped defaults and the catalogue's fees."""
    procedure = (proc.code, proc.fee, proc.charge) if proc is not None else None
    fees_due = kind != AppointmentKind.delivery
    return tariff_pricing.price(
        book, kind.value, distance, procedure, province_code=province_code, fees_due=fees_due, groups=groups
    )
