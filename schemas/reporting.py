"""Answers of the reports (form II.06a of Circular 01/2018/TT-VPCP with postal counts) and of the import of past
dossiers. What each column counts is specified in ``backend/reporting/definitions.py``.

The report answers ``from`` and ``to``: a pydantic model can only alias those (and Litestar documents the
attribute name), so the report is a msgspec Struct, which renames them in the document and the JSON alike.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct
from pydantic import BaseModel, Field

from schemas.vntime import to_vn


class GroupBy(StrEnum):
    field = "field"  # lĩnh vực
    procedure = "procedure"
    agency = "agency"


Count = Annotated[int, Meta(ge=0)]
Rate = Annotated[float, Meta(ge=0, le=100, description="percent, null when the base is 0", examples=[92.5])]


class ReportRow(Struct, kw_only=True):
    """One row of the form: a field (lĩnh vực), procedure or agency, or the total."""

    group: Annotated[str, Meta(description="code of the group", examples=["1.001193"])]
    name: Annotated[str, Meta(examples=["Đăng ký khai sinh"])]
    received_total: Count
    received_online: Count
    received_direct_postal: Count
    carried_over: Count
    resolved_total: Count
    resolved_early: Count
    resolved_on_time: Count
    resolved_late: Count
    in_progress_total: Count
    in_progress_within: Count
    in_progress_overdue: Count
    postal_pickup: Count
    postal_home_pickup: Count
    postal_return: Count
    withdrawn: Count
    received_new: Count
    on_time_rate: Rate | None
    online_share: Rate | None
    postal_share: Rate | None


class DossierReport(Struct, kw_only=True):
    """Form II.06a for a period and scope, grouped by ``group_by``, with the total row."""

    from_: Annotated[date, Meta(description="first day (Vietnam time)")] = msgspec.field(name="from")
    to: Annotated[date, Meta(description="last day, inclusive")]
    org: Annotated[str, Meta(examples=["82-TTPVHCC"])] | None
    org_name: Annotated[str, Meta(examples=["Trung tâm Phục vụ hành chính công tỉnh Đồng Tháp"])] | None
    scope: Literal["desk", "agency", "post_office", "province", "all"]
    group_by: GroupBy
    as_of: Annotated[datetime, Meta(description="open dossiers are judged at this instant")]
    generated_at: datetime
    rows: list[ReportRow]
    total: ReportRow

    def __post_init__(self) -> None:
        # Vietnam time like every answer (LocalTimeResponse localises pydantic models, not Structs).
        self.as_of = to_vn(self.as_of)
        self.generated_at = to_vn(self.generated_at)


class ImportSummary(BaseModel):
    """What an import did (or, with ``dry_run``, would do)."""

    source: str = Field(examples=["old-system-2023.csv"])
    rows: int = Field(description="data rows read")
    imported: int = Field(description="dossiers created (0 on a dry run)")
    dry_run: bool
    first_item_id: str | None = Field(description="item id given to the first imported dossier")
    last_item_id: str | None
