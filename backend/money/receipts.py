"""Receipts (biên lai thu tiền): numbers without gaps, the receipt as JSON, and its printable page.

A receipt number is ``{office code}-{year}-{sequence:06d}``: the sequence is the office's for the year (Vietnam
time), taken by incrementing ``receipt_counter`` in the collection's own transaction, so concurrent
collections wait for the row's lock (PostgreSQL; SQLite has one writer) and a collection that is rolled back
gives its number back: the numbers issued are 1, 2, 3… with no gap (Decree 11/2020/NĐ-CP on State treasury
procedures and Circular 78/2021/TT-BTC on invoices ask receipts to be numbered in sequence).

The printable page is reached with the receipt's verification token (an HMAC of the number under the
service's secret key), which its QR code carries (ISO/IEC 18004, made by ``segno``): anyone holding the paper
can check it against the service; the page shows no personal data (no name, phone or address).
"""

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

import segno
from jinja2 import Environment
from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.lib.problems import not_found
from backend.money import dues
from schemas.booking import Appointment
from schemas.enums import Role
from schemas.money import LedgerTxn, TxnKind
from schemas.money_api import ReceiptLine, ReceiptOut
from schemas.orgs import Organisation
from schemas.vntime import to_vn

RECEIPT_RE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,19}-\d{4}-\d{6,9}$")

_ENSURE = text(
    "INSERT INTO receipt_counter (office_code, year, last) VALUES (:office, :year, 0) "
    "ON CONFLICT (office_code, year) DO NOTHING"
)
_NEXT = text(
    "UPDATE receipt_counter SET last = last + 1 WHERE office_code = :office AND year = :year RETURNING last"
)


async def allocate(session: AsyncSession, office: str, at: datetime) -> str:
    """The office's next receipt number in the year of ``at`` (Vietnam time), in the caller's transaction."""
    year = to_vn(at).year
    params = {"office": office, "year": year}
    await session.execute(_ENSURE, params)
    n = (await session.execute(_NEXT, params)).scalar_one()
    return f"{office}-{year}-{int(n):06d}"


def token(secret: str, receipt_no: str) -> str:
    return hmac.new(secret.encode(), f"receipt:{receipt_no}".encode(), hashlib.sha256).hexdigest()[:20]


def print_url(base: str, secret: str, receipt_no: str) -> str:
    return f"{base}/receipts/{receipt_no}?v={token(secret, receipt_no)}"


async def load(session: AsyncSession, receipt_no: str) -> LedgerTxn:
    if not RECEIPT_RE.match(receipt_no):
        raise not_found("biên lai / receipt", receipt_no)
    txn = (await session.exec(select(LedgerTxn).where(LedgerTxn.receipt_no == receipt_no))).first()
    if txn is None:
        raise not_found("biên lai / receipt", receipt_no)
    return txn


def may_read(principal: Principal, txn: LedgerTxn, office_org: Organisation | None) -> bool:
    """The payer, the staff member who took it, the office's dispatchers, admins."""
    if principal.role == Role.admin:
        return True
    if principal.role == Role.citizen:
        return txn.payer == str(principal.id)
    if principal.role == Role.courier:
        return txn.actor_id == principal.id
    if principal.role == Role.dispatcher:
        return office_org is not None and principal.org_id == office_org.id
    return False


async def view(session: AsyncSession, txn: LedgerTxn, url: str) -> ReceiptOut:
    office = await _office(session, txn)
    appt = await session.get(Appointment, txn.appointment_id) if txn.appointment_id else None
    lines: list[ReceiptLine] = []
    item_id = None
    if appt is not None:
        agency, postal = dues.quote_parts(appt)
        if agency:
            lines.append(
                ReceiptLine(
                    label_vi="Phí, lệ phí thủ tục", label_en="Procedure fee and charge", amount_vnd=agency
                )
            )
        if postal:
            lines.append(ReceiptLine(label_vi="Cước bưu chính", label_en="Postal charge", amount_vnd=postal))
        dossier = await dues.dossier_of(session, appt)
        item_id = dossier.item_id if dossier else appt.dossier_item_id
    return ReceiptOut(
        receipt_no=txn.receipt_no or "",
        at=to_vn(txn.at),
        office=office.code if office else (txn.place or ""),
        office_name=office.name if office else "",
        amount_vnd=await amount(session, txn),
        method=txn.method or "",
        appointment_id=txn.appointment_id,
        item_id=item_id,
        collected_by_role=txn.actor_role,
        lines=lines,
        print_url=url,
    )


async def _office(session: AsyncSession, txn: LedgerTxn) -> Organisation | None:
    if not txn.place:
        return None
    return (await session.exec(select(Organisation).where(Organisation.code == txn.place))).first()


async def office_of(session: AsyncSession, txn: LedgerTxn) -> Organisation | None:
    return await _office(session, txn)


async def amount(session: AsyncSession, txn: LedgerTxn) -> int:
    from backend.money.ledger import lines_of

    return sum(-line.amount_vnd for line in await lines_of(session, txn.id) if line.amount_vnd < 0)


_PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Biên lai {{ r.receipt_no }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:2em auto}table{width:100%;border-collapse:collapse}
td{padding:.3em;border-bottom:1px solid #ccc}td.n{text-align:right}.en{color:#555;font-size:.9em}
@media print{.noprint{display:none}}</style></head><body>
<h1>Biên lai thu tiền <span class="en">/ Receipt</span></h1>
<p><strong>Số / No.:</strong> {{ r.receipt_no }}<br>
<strong>Thời gian / Time:</strong> {{ when }} (giờ Việt Nam / Vietnam time)<br>
<strong>Đơn vị thu / Collected by:</strong> {{ r.office_name }} ({{ r.office }})<br>
<strong>Hình thức / Method:</strong> {{ method_vi }} <span class="en">/ {{ method_en }}</span><br>
{% if r.item_id %}<strong>Hồ sơ / Dossier:</strong> {{ r.item_id }}<br>{% endif %}</p>
<table>{% for line in r.lines %}<tr><td>{{ line.label_vi }} <span class="en">/ {{ line.label_en }}</span></td>
<td class="n">{{ money(line.amount_vnd) }} đ</td></tr>{% endfor %}
<tr><td><strong>Số tiền đã thu / Amount received</strong></td><td class="n"><strong>{{ money(r.amount_vnd) }} đ</strong></td></tr>
</table>
<p>Quét mã để kiểm tra biên lai / Scan to verify this receipt:</p>
{{ qr }}
<p class="en">{{ r.print_url }}</p>
<button class="noprint" onclick="window.print()">In / Print</button>
</body></html>"""
)

METHODS = {
    "cash_door": ("Tiền mặt tại nhà", "Cash at the door"),
    "cash_counter": ("Tiền mặt tại quầy", "Cash at the counter"),
    "bank_transfer": ("Chuyển khoản", "Bank transfer"),
    "online_vnpay": ("Thanh toán trực tuyến (VNPay)", "Paid online (VNPay)"),
}


def page(receipt: ReceiptOut) -> str:
    """The printable receipt, Vietnamese first, with the QR code (inline SVG) of its own URL."""
    from markupsafe import Markup

    qr = segno.make(receipt.print_url, error="m").svg_inline(scale=4)
    vi, en = METHODS.get(receipt.method, (receipt.method, receipt.method))
    params: dict[str, Any] = {
        "r": receipt,
        "when": receipt.at.strftime("%H:%M %d/%m/%Y"),
        "method_vi": vi,
        "method_en": en,
        "qr": Markup(qr),
        "money": lambda n: f"{n:,}".replace(",", "."),
    }
    return _PAGE.render(**params)


def is_receipt(txn: LedgerTxn) -> bool:
    return txn.kind in (TxnKind.collected, TxnKind.paid_online) and bool(txn.receipt_no)
