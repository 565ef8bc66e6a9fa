"""Calendar inputs the service can reason about (a year outside this range is a typo, not a request)."""

from datetime import date

from backend.lib.problems import Problem

EARLIEST = date(1976, 1, 1)  # Vietnam has kept UTC+7 since 1975
LATEST = date(2199, 12, 31)


def check_days(**days: date | None) -> None:
    """422 for any given day outside [1976, 2199], naming the parameter."""
    for name, day in days.items():
        if day is not None and not EARLIEST <= day <= LATEST:
            raise Problem(
                422,
                f"Ngày '{name}' ngoài phạm vi / '{name}' must be between {EARLIEST} and {LATEST}",
                code="date_out_of_range",
            )
