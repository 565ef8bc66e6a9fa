"""``backend.db.detached``: the copy a cache keeps of a row read by a session."""

import uuid
import warnings
from datetime import date

from backend.db import detached
from schemas.planning import Plan, PlanStatus


def test_a_detached_copy_has_its_own_values_and_the_enum_back_without_a_warning() -> None:
    row = Plan(post_office_id=uuid.uuid4(), service_date=date(2026, 12, 1), options={"time_limit_s": 5})
    row.status = "published"  # type: ignore[assignment]  # what a plain string column loads
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = detached(row)
    assert copy is not row and copy.id == row.id
    assert type(copy.status) is PlanStatus and copy.status is PlanStatus.published
    assert copy.options == row.options and copy.options is not row.options
