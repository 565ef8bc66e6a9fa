"""VietQR bank-transfer payloads (NAPAS 247 "QR chuyển nhanh", an EMVCo Merchant-Presented Mode profile).

Follows the NAPAS specification of QR codes for IBFT transfers (NAPAS "Quy cách kỹ thuật QR Code chuyển
nhanh" v1.5.2) over EMVCo QR Code Specification for Payment Systems, Merchant-Presented Mode v1.1. Every data
object is ID (2 digits) + length (2 digits) + value; the payload is, in order:

* 00 payload format indicator "01"; 01 point of initiation "11" (static: reusable, no amount) or "12"
  (dynamic: one payment, with an amount);
* 38 merchant account information: 00 the NAPAS GUID ``A000000727``, 01 the beneficiary (00 the acquirer's
  6-digit BIN, 01 the account number), 02 the service code ``QRIBFTTA`` (transfer to an account);
* 53 currency "704" (VND, ISO 4217); 54 the amount (whole VND, dynamic codes only); 58 country "VN";
* 62 additional data: 01 bill number (our reference), 08 purpose of transaction (the transfer's text);
* 63 the CRC: CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF) over the whole payload up to and
  including "6304", as 4 upper-case hex digits.

The spec's own examples (static ``...6304F4E5``, dynamic ``...63042E2E``) are reproduced by the unit tests.
Pure module: no I/O.
"""

import unicodedata
from dataclasses import dataclass

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
MAX_AMOUNT_VND = 9_999_999_999_999  # tag 54 holds at most 13 characters


def crc16_ccitt_false(data: str) -> str:
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"tag {tag}: value longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def ascii_text(text: str, limit: int) -> str:
    """EMVCo 'ans' text: Vietnamese without accents (đ -> d), printable ASCII only, cut to ``limit``."""
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    kept = "".join(c for c in plain if not unicodedata.combining(c) and 32 <= ord(c) < 127)
    return " ".join(kept.split())[:limit]


@dataclass(frozen=True, slots=True)
class VietQrAccount:
    bin: str  # the beneficiary bank's 6-digit NAPAS BIN (e.g. 970405 Agribank)
    account_no: str  # up to 19 characters


def payload(
    account: VietQrAccount,
    *,
    amount_vnd: int | None = None,
    bill_number: str | None = None,
    purpose: str | None = None,
) -> str:
    """The VietQR string: dynamic ("12") with an amount, static ("11") without."""
    if not (len(account.bin) == 6 and account.bin.isdigit()):
        raise ValueError("the acquirer BIN is 6 digits")
    if not (
        0 < len(account.account_no) <= 19 and account.account_no.isalnum() and account.account_no.isascii()
    ):
        raise ValueError("the account number is 1-19 letters or digits")
    if amount_vnd is not None and (isinstance(amount_vnd, bool) or not 0 < amount_vnd <= MAX_AMOUNT_VND):
        raise ValueError("the amount must be a positive whole number of VND")
    beneficiary = tlv("00", account.bin) + tlv("01", account.account_no)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", SERVICE_TO_ACCOUNT)
    parts = [tlv("00", "01"), tlv("01", "11" if amount_vnd is None else "12"), tlv("38", merchant)]
    parts.append(tlv("53", CURRENCY_VND))
    if amount_vnd is not None:
        parts.append(tlv("54", str(amount_vnd)))
    parts.append(tlv("58", COUNTRY_VN))
    extra = ""
    if bill_number:
        extra += tlv("01", ascii_text(bill_number, 25))
    if purpose:
        extra += tlv("08", ascii_text(purpose, 25))
    if extra:
        parts.append(tlv("62", extra))
    body = "".join(parts) + "6304"
    return body + crc16_ccitt_false(body)


def parse(data: str) -> dict[str, str]:
    """Top-level data objects of a payload (tag -> value) after checking its CRC; ``ValueError`` if bad."""
    if len(data) < 8 or data[-8:-4] != "6304" or crc16_ccitt_false(data[:-4]) != data[-4:].upper():
        raise ValueError("bad CRC")
    out: dict[str, str] = {}
    i = 0
    while i < len(data):
        tag, size = data[i : i + 2], data[i + 2 : i + 4]
        if not size.isdigit() or i + 4 + int(size) > len(data):
            raise ValueError(f"bad length at {i}")
        out[tag] = data[i + 4 : i + 4 + int(size)]
        i += 4 + int(size)
    return out
