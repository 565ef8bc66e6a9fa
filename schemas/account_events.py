"""Account events: every change to a staff or citizen account, one row each (who, when, where).

The developer guide asks that every state change write an event row in the same transaction. An account's
changes (created, a new role, organisation or password, disabled or enabled, sessions ended, a courier's
profile) are written here by ``backend/accounts/events.py``. ``data`` names what changed, never a value that
could sign in (no password, hash or token) and no personal data beyond the ids (Decree 13/2023/NĐ-CP art. 3:
data minimisation): a new name or phone is recorded as the field's name, not its value.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from schemas.base import json_field, new_id, utc_field


class AccountEvent(SQLModel, table=True):
    __tablename__ = "account_event"
    __table_args__ = (Index("ix_account_event_account_at", "account_id", "at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    account_kind: str = Field(max_length=10, description="staff | citizen")
    account_id: uuid.UUID  # indexed with ``at`` (ix_account_event_account_at)
    code: str = Field(max_length=40, description="created, role_changed, password_changed, disabled, …")
    actor_id: uuid.UUID | None = Field(default=None, description="the account itself, or an admin/dispatcher")
    actor_role: str | None = Field(default=None, max_length=20)
    at: datetime = utc_field(default_now=True)
    client_ip: str | None = Field(default=None, max_length=45)
    data: dict[str, Any] = json_field(default_factory=dict)


class AccountEventPublic(SQLModel):
    """One change to an account, as an admin reads it (``GET /staff/{id}/events``)."""

    id: uuid.UUID
    account_kind: str
    account_id: uuid.UUID
    code: str
    actor_id: uuid.UUID | None = None
    actor_role: str | None = None
    at: datetime
    client_ip: str | None = None
    data: dict[str, Any] = Field(
        default={},
        description="what changed, by code: created {role, organisation_id}; role_changed and "
        "organisation_changed {from, to}; updated {fields}; sessions_revoked {because}; a citizen's created {via}",
        schema_extra={"examples": [{"from": "courier", "to": "dispatcher"}]},
    )


class AccountEventPage(SQLModel):
    """A page of an account's events, newest first; ``total`` counts every one."""

    items: list[AccountEventPublic]
    total: int
    limit: int
    offset: int
