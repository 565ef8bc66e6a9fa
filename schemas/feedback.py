"""Citizens' satisfaction ratings of home visits and their complaints (phản ánh, kiến nghị), issue 23.

A ``rating`` is one per completed visit (appointment), by its citizen, with a 1-5 score for each criterion the
national satisfaction index SIPAS asks about (Chỉ số hài lòng về sự phục vụ hành chính, Ministry of Home Affairs,
Decision 3004/QĐ-BNV; methodology of Decision 1055/QĐ-BNV): the staff's attitude, the time taken, the fees, the
result. Its comment is stored as given and never shown with the citizen's identity to staff.

A ``complaint`` is received, classified, assigned to the organisation responsible with a deadline in working
days, answered and closed (or reopened once by its citizen), after Decree 20/2008/NĐ-CP on receiving and
handling individuals' and organisations' feedback and recommendations (phản ánh, kiến nghị).

Every change of either is a ``feedback_event`` row (who, role, when in UTC, from where) written in the same
transaction.
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field

SCORE_MIN, SCORE_MAX = 1, 5
COMMENT_MAX = 1000
COMPLAINT_TEXT_MAX = 2000
ANSWER_MAX = 2000

# The SIPAS criteria rated (key -> Vietnamese, English).
CRITERIA: dict[str, tuple[str, str]] = {
    "attitude": ("Thái độ phục vụ", "Attitude of the staff"),
    "timeliness": ("Thời gian thực hiện", "Time taken"),
    "fees": ("Phí, lệ phí", "Fees"),
    "result": ("Kết quả nhận được", "Result received"),
}


class ComplaintSubject(StrEnum):
    visit = "visit"  # a home visit (appointment)
    dossier = "dossier"  # a dossier carried by the post
    courier = "courier"  # the courier of one of the citizen's visits
    desk = "desk"  # a one-stop desk


class ComplaintCategory(StrEnum):
    attitude = "attitude"
    lateness = "lateness"
    fees = "fees"
    lost_or_damaged = "lost_or_damaged"
    wrong_result = "wrong_result"
    procedure = "procedure"  # a rule or procedure itself (Decree 20/2008/NĐ-CP's "quy định hành chính")
    other = "other"


CATEGORY_TEXTS: dict[str, tuple[str, str]] = {
    "attitude": ("Thái độ, tác phong", "Attitude, conduct"),
    "lateness": ("Chậm trễ, sai hẹn", "Late or missed appointment"),
    "fees": ("Thu phí không đúng", "Wrong fees charged"),
    "lost_or_damaged": ("Thất lạc, hư hỏng hồ sơ", "Dossier lost or damaged"),
    "wrong_result": ("Kết quả sai, thiếu", "Wrong or incomplete result"),
    "procedure": ("Quy định, thủ tục hành chính", "An administrative rule or procedure"),
    "other": ("Khác", "Other"),
}


class ComplaintStatus(StrEnum):
    received = "received"  # filed, not yet assigned
    assigned = "assigned"  # with its responsible organisation and deadline
    answered = "answered"  # the organisation answered; the citizen may accept (close) or reopen once
    closed = "closed"


class Rating(SQLModel, table=True):
    __tablename__ = "rating"
    __table_args__ = (Index("ix_rating_office_visit", "post_office_id", "visit_at"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", unique=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    post_office_id: uuid.UUID = Field(foreign_key="organisation.id")
    courier_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id", index=True)
    desk_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    visit_at: datetime = utc_field()
    attitude: int
    timeliness: int
    fees: int
    result: int
    comment: str | None = Field(default=None, max_length=COMMENT_MAX)
    version: int = 1
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)


class Complaint(SQLModel, table=True):
    __tablename__ = "complaint"
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id", index=True)
    subject: str = Field(max_length=20)
    category: str = Field(max_length=30, index=True)
    text: str = Field(max_length=COMPLAINT_TEXT_MAX)
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="appointment.id")
    dossier_item_id: str | None = Field(default=None, max_length=13)
    courier_id: uuid.UUID | None = Field(default=None, foreign_key="staff_user.id")
    received_by_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organisation.id", index=True)
    status: str = Field(default=ComplaintStatus.received.value, max_length=12, index=True)
    deadline_days: int | None = None
    due_on: date | None = Field(default=None, index=True)
    answer: str | None = Field(default=None, max_length=ANSWER_MAX)
    answered_at: datetime | None = utc_field(nullable=True)
    answered_on_time: bool | None = None
    closed_at: datetime | None = utc_field(nullable=True)
    reopened: bool = False
    version: int = 1
    created_at: datetime = utc_field(default_now=True, index=True)
    updated_at: datetime = utc_field(default_now=True)


class FeedbackEvent(SQLModel, table=True):
    """One change of a rating or a complaint: who (id and role), when (UTC), from where (client IP)."""

    __tablename__ = "feedback_event"
    __table_args__ = (Index("ix_feedback_event_subject", "subject_id", "at"),)
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=10, description="rating or complaint")
    subject_id: uuid.UUID
    type: str = Field(max_length=20, description="rated, edited, invited, filed, assigned, answered, ...")
    at: datetime = utc_field(default_now=True)
    actor_role: str = Field(max_length=20)
    actor_id: uuid.UUID | None = None
    client_ip: str | None = Field(default=None, max_length=45)
    data: dict[str, Any] = json_field()


class RatingInvitation(SQLModel, table=True):
    """A completed visit whose citizen was invited to rate it (one invitation a visit)."""

    __tablename__ = "rating_invitation"
    appointment_id: uuid.UUID = Field(foreign_key="appointment.id", primary_key=True)
    citizen_id: uuid.UUID = Field(foreign_key="citizen.id")
    invited_at: datetime = utc_field(default_now=True)


# --- API shapes ------------------------------------------------------------------------------------------


class RatingIn(SQLModel):
    """A rating of a completed visit: 1 (very dissatisfied) to 5 (very satisfied) for each SIPAS criterion."""

    attitude: int = Field(
        ge=SCORE_MIN, le=SCORE_MAX, description="the staff's attitude", schema_extra={"examples": [5]}
    )
    timeliness: int = Field(
        ge=SCORE_MIN, le=SCORE_MAX, description="the time taken", schema_extra={"examples": [4]}
    )
    fees: int = Field(ge=SCORE_MIN, le=SCORE_MAX, description="the fees", schema_extra={"examples": [5]})
    result: int = Field(ge=SCORE_MIN, le=SCORE_MAX, description="the result", schema_extra={"examples": [5]})
    comment: str | None = Field(
        default=None, max_length=COMMENT_MAX, schema_extra={"examples": ["Bưu tá đến đúng giờ, nhiệt tình."]}
    )


class RatingPublic(SQLModel):
    """A visit's rating. Shown to its citizen and to staff of the visit's office without who gave it."""

    appointment_id: uuid.UUID
    attitude: int = Field(schema_extra={"examples": [5]})
    timeliness: int = Field(schema_extra={"examples": [4]})
    fees: int = Field(schema_extra={"examples": [5]})
    result: int = Field(schema_extra={"examples": [5]})
    comment: str | None = None
    version: int = Field(schema_extra={"examples": [1]})
    created_at: datetime
    updated_at: datetime
    editable_until: datetime = Field(description="the citizen may change it until then")


class RatingState(SQLModel):
    """Whether a visit can be rated now, and its rating if it has one."""

    appointment_id: uuid.UUID
    rateable: bool = Field(
        description="its citizen may rate it now (completed, within the window, not yet rated)"
    )
    rate_until: datetime | None = Field(
        default=None, description="the last moment to rate (completed visits)"
    )
    rating: RatingPublic | None = None


class ComplaintIn(SQLModel):
    """A complaint about one of the citizen's visits, dossiers, the courier of a visit, or a desk."""

    subject: ComplaintSubject = Field(schema_extra={"examples": ["visit"]})
    category: ComplaintCategory = Field(schema_extra={"examples": ["lateness"]})
    text: str = Field(
        min_length=1, max_length=COMPLAINT_TEXT_MAX, schema_extra={"examples": ["Bưu tá đến trễ 2 giờ."]}
    )
    appointment_id: uuid.UUID | None = Field(default=None, description="subject visit or courier: the visit")
    item_id: str | None = Field(default=None, max_length=13, description="subject dossier: its item id")
    desk: str | None = Field(default=None, max_length=32, description="subject desk: the desk's code")


class ComplaintAssign(SQLModel):
    """Classify a complaint and hand it to the organisation responsible, with its deadline in working days."""

    org: str = Field(
        max_length=32,
        description="the responsible organisation's code",
        schema_extra={"examples": ["82-BD-01"]},
    )
    category: ComplaintCategory | None = Field(default=None, description="a corrected category")
    deadline_days: int = Field(
        default=10, ge=1, le=30, description="working days from now", schema_extra={"examples": [10]}
    )


class ComplaintAnswer(SQLModel):
    answer: str = Field(
        min_length=1, max_length=ANSWER_MAX, schema_extra={"examples": ["Đã nhắc nhở bưu tá."]}
    )


class FeedbackEventPublic(SQLModel):
    type: str = Field(schema_extra={"examples": ["assigned"]})
    at: datetime
    actor_role: str = Field(schema_extra={"examples": ["admin"]})


class ComplaintPublic(SQLModel):
    """A complaint as its citizen, the organisations handling it and admins see it (staff never see who filed it)."""

    id: uuid.UUID
    subject: str = Field(schema_extra={"examples": ["visit"]})
    category: str = Field(schema_extra={"examples": ["lateness"]})
    category_name: str = Field(schema_extra={"examples": ["Chậm trễ, sai hẹn / Late or missed appointment"]})
    text: str
    appointment_id: uuid.UUID | None = None
    item_id: str | None = None
    received_by: str | None = Field(default=None, description="the organisation that received it (its code)")
    org: str | None = Field(default=None, description="the responsible organisation (its code)")
    org_name: str | None = None
    status: ComplaintStatus
    deadline_days: int | None = None
    due_on: date | None = Field(default=None, description="answer due by the end of this day (Vietnam time)")
    overdue: bool
    answer: str | None = None
    answered_at: datetime | None = None
    answered_on_time: bool | None = None
    closed_at: datetime | None = None
    reopened: bool
    version: int
    created_at: datetime
    updated_at: datetime
    events: list[FeedbackEventPublic]


class ComplaintPage(SQLModel):
    """A page of complaints, newest first."""

    items: list[ComplaintPublic]
    total: int
    limit: int
    offset: int


class RatingReportRow(SQLModel):
    group: str = Field(
        description="courier username, post office or desk code", schema_extra={"examples": ["82-BD-01"]}
    )
    name: str
    month: str = Field(schema_extra={"examples": ["2026-12"]})
    ratings: int
    attitude: float | None = None
    timeliness: float | None = None
    fees: float | None = None
    result: float | None = None
    overall: float | None = Field(default=None, description="the mean of the four criteria's means")


class RatingReport(SQLModel):
    first_day: date
    last_day: date
    group_by: str
    rows: list[RatingReportRow]


class ComplaintReportRow(SQLModel):
    category: str
    org: str = Field(description="the responsible organisation's code, '' while unassigned")
    org_name: str
    month: str = Field(schema_extra={"examples": ["2026-12"]})
    filed: int
    answered: int
    answered_on_time: int
    closed: int
    open_overdue: int


class ComplaintReport(SQLModel):
    first_day: date
    last_day: date
    rows: list[ComplaintReportRow]
