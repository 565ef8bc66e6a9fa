"""A VietQR bank-transfer code for what is outstanding on an appointment (backend/money/vietqr.py builds it).

Who may ask: whoever may see the appointment (booking's visibility scope: the citizen, the office's
dispatchers, the courier whose route has it, ...). The code carries no personal data: the collection account,
the amount and a reference that names the appointment, not the citizen. A transfer is confirmed by staff
(a ``bank_transfer`` collection), never by the code being shown.
"""

import io
import uuid

import segno
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.services.visibility import scope
from backend.lib.auth import Principal
from backend.lib.problems import Problem, not_found
from backend.money import vietqr
from backend.money.online.payments import owed
from backend.settings import Settings
from schemas.booking import Appointment, AppointmentStatus
from schemas.payments import VietQrAnswer


def reference(appointment_id: uuid.UUID) -> str:
    return "HS" + appointment_id.hex[:10].upper()


def svg(data: str) -> str:
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode()


async def vietqr_for(
    session: AsyncSession, settings: Settings, principal: Principal, appointment_id: uuid.UUID
) -> VietQrAnswer:
    stmt = select(Appointment).where(Appointment.id == appointment_id).where(await scope(session, principal))
    appt = (await session.exec(stmt)).first()
    if appt is None:
        raise not_found("lịch hẹn / appointment", appointment_id)
    if appt.status == AppointmentStatus.cancelled:
        raise Problem(409, "Lịch hẹn đã hủy / The appointment is cancelled", code="appointment_cancelled")
    amount = await owed(session, appt)
    if amount <= 0:
        raise Problem(409, "Không còn khoản nào phải trả / Nothing is owed", code="nothing_due")
    if not (settings.vietqr_bank_bin and settings.vietqr_account_no):  # after the access checks
        raise Problem(
            503,
            "Chuyển khoản VietQR chưa được cấu hình / VietQR is not configured",
            code="payments_unconfigured",
        )
    ref = reference(appt.id)
    account = vietqr.VietQrAccount(bin=settings.vietqr_bank_bin, account_no=settings.vietqr_account_no)
    data = vietqr.payload(account, amount_vnd=amount, bill_number=ref, purpose=f"{ref} phi ho so")
    return VietQrAnswer(
        appointment_id=appt.id,
        amount_vnd=amount,
        payload=data,
        svg=svg(data),
        bank_bin=account.bin,
        account_no=account.account_no,
        reference=ref,
        note_vi="Quét mã bằng ứng dụng ngân hàng; nhân viên bưu điện xác nhận khi tiền đến.",
        note_en="Scan with a banking app; post office staff confirm the transfer when it arrives.",
    )
