"""Citizens' phone numbers as the service keeps them: E.164, ``+84`` and 9 digits (``schemas/phones.py``)."""

from backend.lib.problems import Problem
from schemas.phones import Phone, PhoneKind, parse_phone

NOT_MOBILE = (
    "Số điện thoại cố định không nhận được tin nhắn; hãy dùng số di động / "
    "A landline cannot receive text messages; use a mobile number"
)


def _invalid(raw: str) -> Problem:
    return Problem(
        422,
        f"Số điện thoại không hợp lệ: '{raw}' / Invalid Vietnamese phone number",
        code="invalid_phone",
    )


def normalise_phone(raw: str) -> str:
    """``+84`` and 9 digits. A landline is refused with its own problem: citizens are reached by SMS."""
    phone = parse_phone(raw)
    if phone is None:
        raise _invalid(raw)
    if phone.kind is PhoneKind.landline:
        raise Problem(422, NOT_MOBILE, code="phone_not_mobile")
    return phone.e164


def mobile_phone(raw: str) -> Phone:
    """A number that can receive an SMS (sign-in codes): in the mobile ranges, else 422 ``phone_not_mobile``."""
    phone = parse_phone(raw)
    if phone is None:
        raise _invalid(raw)
    if phone.kind is not PhoneKind.mobile:
        raise Problem(422, NOT_MOBILE, code="phone_not_mobile")
    return phone
