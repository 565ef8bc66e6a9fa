"""What every part of booking reads: the post office and its rules, postal procedures, the channel a role
books through, and the refusals they share."""

import uuid
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.windows import BookingRules, Window, WindowError
from backend.lib.problems import Problem, not_found
from schemas.booking import Appointment, AppointmentKind, BookingChannel, BookingSettings
from schemas.catalogue import Procedure
from schemas.enums import Role
from schemas.orgs import Organisation
from schemas.vntime import to_vn

STAFF_CHANNEL = {
    Role.desk: BookingChannel.desk,
    Role.dispatcher: BookingChannel.phone,
    Role.courier: BookingChannel.app,
    Role.admin: BookingChannel.desk,
    Role.citizen: BookingChannel.app,
}


@dataclass(frozen=True)
class Office:
    org: Organisation
    rules: BookingRules


def rules_from(row: BookingSettings | None) -> BookingRules:
    if row is None:
        return BookingRules()
    return BookingRules(
        window_minutes=row.window_minutes,
        min_notice_minutes=row.min_notice_minutes,
        horizon_days=row.horizon_days,
        cutoff_minutes=row.cutoff_minutes,
        travel_minutes=row.travel_minutes,
        service_minutes={
            **BookingRules().service_minutes,
            **{k: int(v) for k, v in row.service_minutes.items()},
        },
    )


async def office(session: AsyncSession, post_office_id: uuid.UUID) -> Office:
    org = await session.get(Organisation, post_office_id)
    if org is None:
        raise not_found("bưu cục / post office", post_office_id)
    return Office(org, rules_from(await session.get(BookingSettings, post_office_id)))


async def postal_procedure(session: AsyncSession, code: str) -> Procedure:
    """A procedure that may be picked up by the post (Decision 45/2016/QĐ-TTg lists which may)."""
    proc = (await session.exec(select(Procedure).where(Procedure.code == code))).one_or_none()
    if proc is None:
        raise Problem(
            422, f"Không có thủ tục '{code}' / Unknown procedure '{code}'", code="unknown_procedure"
        )
    if not proc.postal_pickup:
        raise Problem(
            422,
            f"Thủ tục '{code}' không nhận hồ sơ qua bưu chính / Procedure '{code}' is not filed by post",
            code="procedure_not_postal",
        )
    return proc


def parse_kind(raw: str | AppointmentKind) -> AppointmentKind:
    try:
        return AppointmentKind(str(raw))
    except ValueError:
        raise Problem(
            422,
            f"Loại hẹn không hợp lệ: {raw} / Unknown kind (pickup, delivery, assisted)",
            code="invalid_kind",
        ) from None


def window_problem(err: WindowError) -> Problem:
    return Problem(422, str(err), code=err.code, extra=err.extra or None)


def window_full(window: Window) -> Problem:
    return Problem(
        409,
        "Khung giờ đã kín, vui lòng chọn khung khác / The window is full, please pick another",
        code="window_full",
        extra={"start": to_vn(window.start).isoformat(), "remaining": 0},
    )


def changed_meanwhile() -> Problem:
    return Problem(
        409,
        "Lịch hẹn vừa được thay đổi, vui lòng tải lại / The appointment changed meanwhile, reload it",
        code="appointment_changed",
    )


def not_booked(appt: Appointment) -> Problem:
    return Problem(
        409,
        f"Lịch hẹn đang ở trạng thái {appt.status} / The appointment is {appt.status}",
        code="not_booked",
    )
