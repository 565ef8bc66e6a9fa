"""Why a stop is left out of a plan: the solver's diagnosis (or the planner's own, e.g. a closed desk) as a
machine code and a Vietnamese / English text for the dispatcher."""

REASONS: dict[str, tuple[str, str]] = {
    "no vehicle with skill": (
        "skill",
        "Không có bưu tá có kỹ năng cần thiết (thu tiền, hỗ trợ kê khai) / No courier with the required skill",
    ),
    "capacity": ("capacity", "Vượt quá sức chở của mọi bưu tá / Exceeds every courier's capacity"),
    "time window unreachable": (
        "time_window",
        "Không thể đến trong khung giờ hẹn và ca làm việc / The window cannot be reached within any shift",
    ),
    "not enough vehicles/time": (
        "no_capacity",
        "Không đủ bưu tá hoặc thời gian trong ngày / Not enough couriers or time that day",
    ),
    "pinned vehicle unavailable": (
        "courier_unavailable",
        "Bưu tá đang giữ điểm này đã hết ca / The courier holding this stop is off shift",
    ),
    "no_courier": ("no_courier", "Không có bưu tá trong ca ngày này / No courier on shift that day"),
    "desk_closed": ("desk_closed", "Bộ phận Một cửa không làm việc ngày này / The desk is closed that day"),
    "desk_pickup_failed": (
        "desk_pickup_failed",
        "Chưa nhận được kết quả tại Bộ phận Một cửa / The result could not be collected at the desk",
    ),
}


def reason_of(raw: str) -> tuple[str, str]:
    """(code, text) of a diagnosis; one the table does not know is passed on as 'other' with its own words."""
    return REASONS.get(raw, ("other", raw[:300]))
