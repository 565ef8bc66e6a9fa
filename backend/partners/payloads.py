"""What a partner receives for each event: the body ``{id, type, created_at, data}`` and who is party to it.

Pure functions over the rows the relay reads. ``data`` holds only what a partner system needs to follow a
dossier or an appointment: codes, statuses, times and organisations, never the citizen's name, phone number,
address or position (Decree 13/2023/NĐ-CP art. 3: personal data processed only as far as the purpose needs).
"""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas.vntime import to_vn
from schemas.webhooks import WebhookKind

RESULT_READY = "result_ready"  # backend/custody/transitions.py Status.result_ready


def instant(value: datetime | None) -> str | None:
    """Vietnam time with its offset, as the API shows instants."""
    return None if value is None else to_vn(value).isoformat()


def body(event_id: uuid.UUID, kind: str, at: datetime, data: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": str(event_id), "type": kind, "created_at": instant(at), "data": dict(data)}


def dossier_kinds(status: str) -> list[WebhookKind]:
    """Every dossier event is a step of its status; reaching ``result_ready`` is also its own kind."""
    kinds = [WebhookKind.dossier_status_changed]
    if status == RESULT_READY:
        kinds.append(WebhookKind.dossier_result_ready)
    return kinds


def dossier_data(row: Mapping[str, Any], codes: Mapping[uuid.UUID, str]) -> dict[str, Any]:
    """``row``: the event joined with its dossier (``backend.partners.relay``); ``codes``: organisation codes."""
    return {
        "item_id": row["item_id"],
        "procedure": row["procedure"],
        "code": row["code"],
        "status": row["status"],
        "portal_status": row["portal_status"],
        "at": instant(row["at"]),
        "organisation": codes.get(row["org_id"]) if row["org_id"] else None,
        "desk": codes.get(row["desk_id"]) if row["desk_id"] else None,
        "agency": codes.get(row["agency_id"]) if row["agency_id"] else None,
        "post_office": codes.get(row["post_office_id"]) if row["post_office_id"] else None,
        "due_at": instant(row["due_at"]),
        "outcome": row["outcome"],
    }


def appointment_data(row: Mapping[str, Any], codes: Mapping[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "appointment_id": str(row["appointment_id"]),
        "change": row["type"],
        "kind": row["kind"],
        "status": row["appt_status"],
        "start": instant(row["start"]),
        "end": instant(row["end"]),
        "post_office": codes.get(row["post_office_id"]),
        "procedure": row["procedure"],
        "dossier_item_id": row["dossier_item_id"],
        "reason_code": row["reason_code"],
        "at": instant(row["at"]),
    }


def parties(*org_ids: uuid.UUID | None) -> set[uuid.UUID]:
    return {o for o in org_ids if o is not None}
