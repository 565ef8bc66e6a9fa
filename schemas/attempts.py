"""Attempt counters on guessable codes and the log of wrong answers (issue 17).

A citizen's six-digit handover code (and the national-id recipient check) can be guessed: each wrong answer is
counted per citizen and Vietnam day and per staff member and hour, atomically, and written to ``code_failure``
(who, when, where) so the desk and the dispatcher can see an attack. The OTP challenge keeps its own counter
(``otp_challenge.attempts``).
"""

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from schemas.base import new_id, utc_field


class AttemptCounter(SQLModel, table=True):
    """Wrong answers of one kind in one window: ``scope`` ``citizen_day`` (subject a citizen, window the Vietnam
    day ``2026-12-05``) or ``staff_hour`` (subject a staff member, window the UTC hour ``2026-12-05T13``).
    Incremented only by one conditional ``INSERT ... ON CONFLICT DO UPDATE ... WHERE attempts < max``."""

    __tablename__ = "attempt_counter"
    scope: str = Field(primary_key=True, max_length=16)
    subject: uuid.UUID = Field(primary_key=True)
    window: str = Field(primary_key=True, max_length=16)
    attempts: int = 0
    updated_at: datetime = utc_field(default_now=True)


class CodeFailure(SQLModel, table=True):
    """A wrong handover code or recipient check, or one refused because the code or the staff member was
    locked: who (actor, organisation), when (server and device time), where (place, position), for whom."""

    __tablename__ = "code_failure"
    __table_args__ = (
        Index("ix_code_failure_actor_at", "actor_id", "at"),
        Index("ix_code_failure_citizen_at", "citizen_id", "at"),
    )
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    at: datetime = utc_field(default_now=True)
    client_at: datetime | None = utc_field(nullable=True)
    purpose: str = Field(max_length=16)  # pickup | delivery
    method: str = Field(max_length=16)  # code | national_id
    outcome: str = Field(max_length=16)  # wrong | locked (refused unchecked)
    actor_id: uuid.UUID
    org_id: uuid.UUID | None = None
    citizen_id: uuid.UUID | None = None
    dossier_id: uuid.UUID | None = None
    place: str | None = Field(default=None, max_length=200)
    lat: float | None = None
    lon: float | None = None
