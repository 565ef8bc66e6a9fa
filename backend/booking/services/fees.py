"""What a visit costs the citizen, shown with the slots and stored with the appointment."""

from typing import Any

from backend.catalogue import tariffs
from schemas.booking import AppointmentKind
from schemas.catalogue import Procedure


def fees_for(kind: AppointmentKind, distance: float, proc: Procedure | None) -> dict[str, Any]:
    """Postal charge by kind and distance zone, plus the procedure's fee (phí) and charge (lệ phí), collected
    at pickup. A delivery collects only the postal charge: fees were paid when the dossier was filed."""
    q = tariffs.quote(kind.value, distance)
    fee = proc.fee if proc is not None and kind != AppointmentKind.delivery else 0
    charge = proc.charge if proc is not None and kind != AppointmentKind.delivery else 0
    return {
        "postal": q.amount_vnd,
        "fee": fee,
        "charge": charge,
        "total": q.amount_vnd + fee + charge,
        "currency": "VND",
        "zone": q.zone,
        "distance_km": round(distance, 2),
        "label_vi": q.label_vi,
        "label_en": q.label_en,
    }
