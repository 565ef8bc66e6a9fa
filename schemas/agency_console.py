"""What the agency console (issue 23) reads that no domain answers on its own: the agency's queue, and the
answer to receiving one dossier by scanning it.

Least personal data (Decree 13/2023/NĐ-CP): an agency deciding a dossier sees the applicant's name (the
decision is issued in that name) and the dossier; never the phone or the address (the citizen is told by the
service's own notifications, and the result goes back through the desk and the post).
"""

import builtins
import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from pydantic import Field as PField

from schemas.dossier_answers import ItemId, Label
from schemas.dossiers import DossierStatus, Timeliness

AgencyList = Literal["incoming", "processing", "supplement", "decided", "due_soon", "overdue"]
AGENCY_LISTS: tuple[str, ...] = ("incoming", "processing", "supplement", "decided", "due_soon", "overdue")


class OrgRef(BaseModel):
    code: str = PField(examples=["82-UB-30001"])
    name: str = PField(examples=["Ủy ban nhân dân xã Mỹ Trà"])


class AgencyDossier(BaseModel):
    """A dossier as the agency's lists show it: what deciding needs, and where it stands on the legal clock."""

    item_id: ItemId
    procedure: str | None = PField(description="procedure code", examples=["1.004873"])
    procedure_name: str | None = PField(examples=["Đăng ký khai sinh"])
    processing_days: float | None = PField(
        description="the procedure's legal processing time in working days", examples=[5]
    )
    applicant_name: str | None = PField(
        description="the applicant's name only (no phone, no address)", examples=["Nguyễn Văn An"]
    )
    status: DossierStatus
    status_label: Label
    desk: OrgRef | None = PField(description="the one-stop desk that sent it and takes the result back")
    received_at: datetime | None = PField(description="accepted by the desk: the legal clock started")
    due_at: datetime | None = PField(description="ngày hẹn trả kết quả")
    working_days_left: int | None = PField(
        description="working days from today (or from the pause, while waiting for a supplement) to the due "
        "day; negative when overdue; null once decided",
        examples=[2],
    )
    timeliness: Timeliness | None
    paused_at: datetime | None = PField(description="clock stopped for a supplement")
    missing_documents: list[str] = PField(examples=[["Bản chính giấy chứng sinh"]])
    outcome: Literal["approved", "refused", "withdrawn"] | None
    decision_reason: str | None = PField(
        description="the reason recorded with a refusal", examples=["Không đủ điều kiện / Not eligible"]
    )
    resolved_at: datetime | None
    handover_id: uuid.UUID | None = PField(
        description="incoming: the desk's handover it is on; decided: the handover back to the desk, while the "
        "desk has not confirmed it"
    )
    sent_at: datetime | None = PField(description="when that handover was made")


class AgencyCounts(BaseModel):
    incoming: int
    processing: int
    supplement: int
    decided: int
    due_soon: int
    overdue: int


class AgencyQueue(BaseModel):
    """One of the agency's lists, with every list's count (the console's tiles)."""

    agency: OrgRef | None = PField(description="the agency (null: an admin's view of every agency)")
    list: AgencyList
    items: builtins.list[AgencyDossier]
    total: int
    limit: int
    offset: int
    counts: AgencyCounts
    as_of: datetime


class AgencyReceiveIn(BaseModel):
    item_id: str = PField(
        min_length=1, max_length=32, description="the S10 id as scanned", examples=["HS123456785VN"]
    )


class AgencyReceipt(BaseModel):
    """The dossier received (custody moved to the agency, the receipt recorded) and its handover's state."""

    dossier: AgencyDossier
    handover_id: uuid.UUID
    remaining: int = PField(description="items of that handover not received yet", examples=[2])
    handover_complete: bool = PField(description="every item received: the handover is confirmed")
