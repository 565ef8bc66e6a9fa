"""Notification templates of money (issue 21) beyond the receipt, kept here so notifications/templates.py stays
within the module size limit; ``templates.TEMPLATES`` includes them."""

from notifications.template_model import Template

MONEY_TEMPLATES: tuple[Template, ...] = (
    Template(
        key="money.refund_paid",
        audience="citizen",
        title_vi="Đã hoàn tiền - biên lai {receipt_no}",
        body_vi="Bưu điện đã hoàn trả {amount} đồng cho quý khách. Số biên lai: {receipt_no}.",
        title_en="Refund paid - receipt {receipt_no}",
        body_en="The post office paid you back {amount} VND. Receipt number: {receipt_no}.",
        link="/receipts/{receipt_no}",
    ),
)
