"""UPU S10 13-character item identifiers (e.g. ``RR473124829GB``).

Layout: 2-letter service indicator, 8-digit serial, 1 check digit, ISO 3166-1 alpha-2 country of the issuing
postal operator. The check digit follows UPU standard S10 §5: weights 8,6,4,2,3,5,9,7 over the serial,
``c = 11 - (sum mod 11)``, then 10 -> 0 and 11 -> 5.
Every weight is non-zero mod 11, so a single mistyped serial digit always changes the sum; the one blind spot
is built into the standard: sums of 0 and 6 (mod 11) both give check digit 5 (HS000000005VN, HS900000005VN).

Our service indicators (ids we issue always end in ``VN``):

* ``HS`` (Hồ Sơ) – a dossier (hồ sơ TTHC) carried by the post: picked up at a citizen's home or accepted at a
  post office, then handed to the one-stop desk. The API contract already uses it (``HS123456785VN``).
* ``KQ`` (Kết Quả) – the result of a procedure (giấy tờ kết quả) carried back from the desk/agency to the citizen.

Why these letters: they read as the Vietnamese words staff already use on the form, which matters at the
counter. Caveat: S10 reserves some first letters (B, D, G, N, P, Z ...) for domestic/bilateral use while
``H``/``K`` are outside those ranges, so Vietnam Post, as designated operator, must confirm the allocation. The
ids never leave Vietnam, so there is no clash with international mail in practice; if VNPost asks for a
domestic-range pair (e.g. ``PH``/``PK``) only ``PREFIX_DOSSIER``/``PREFIX_RESULT`` need to change.

Validation accepts any service indicator and any ISO country, because citizens may hand us foreign ids.
"""

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

WEIGHTS: tuple[int, ...] = (8, 6, 4, 2, 3, 5, 9, 7)

PREFIX_DOSSIER = "HS"
PREFIX_RESULT = "KQ"
OUR_PREFIXES: frozenset[str] = frozenset({PREFIX_DOSSIER, PREFIX_RESULT})
OUR_COUNTRY = "VN"

# ISO 3166-1 alpha-2, officially assigned codes (249).
ISO_COUNTRIES: frozenset[str] = frozenset(
    [
        "AD",
        "AE",
        "AF",
        "AG",
        "AI",
        "AL",
        "AM",
        "AO",
        "AQ",
        "AR",
        "AS",
        "AT",
        "AU",
        "AW",
        "AX",
        "AZ",
        "BA",
        "BB",
        "BD",
        "BE",
        "BF",
        "BG",
        "BH",
        "BI",
        "BJ",
        "BL",
        "BM",
        "BN",
        "BO",
        "BQ",
        "BR",
        "BS",
        "BT",
        "BV",
        "BW",
        "BY",
        "BZ",
        "CA",
        "CC",
        "CD",
        "CF",
        "CG",
        "CH",
        "CI",
        "CK",
        "CL",
        "CM",
        "CN",
        "CO",
        "CR",
        "CU",
        "CV",
        "CW",
        "CX",
        "CY",
        "CZ",
        "DE",
        "DJ",
        "DK",
        "DM",
        "DO",
        "DZ",
        "EC",
        "EE",
        "EG",
        "EH",
        "ER",
        "ES",
        "ET",
        "FI",
        "FJ",
        "FK",
        "FM",
        "FO",
        "FR",
        "GA",
        "GB",
        "GD",
        "GE",
        "GF",
        "GG",
        "GH",
        "GI",
        "GL",
        "GM",
        "GN",
        "GP",
        "GQ",
        "GR",
        "GS",
        "GT",
        "GU",
        "GW",
        "GY",
        "HK",
        "HM",
        "HN",
        "HR",
        "HT",
        "HU",
        "ID",
        "IE",
        "IL",
        "IM",
        "IN",
        "IO",
        "IQ",
        "IR",
        "IS",
        "IT",
        "JE",
        "JM",
        "JO",
        "JP",
        "KE",
        "KG",
        "KH",
        "KI",
        "KM",
        "KN",
        "KP",
        "KR",
        "KW",
        "KY",
        "KZ",
        "LA",
        "LB",
        "LC",
        "LI",
        "LK",
        "LR",
        "LS",
        "LT",
        "LU",
        "LV",
        "LY",
        "MA",
        "MC",
        "MD",
        "ME",
        "MF",
        "MG",
        "MH",
        "MK",
        "ML",
        "MM",
        "MN",
        "MO",
        "MP",
        "MQ",
        "MR",
        "MS",
        "MT",
        "MU",
        "MV",
        "MW",
        "MX",
        "MY",
        "MZ",
        "NA",
        "NC",
        "NE",
        "NF",
        "NG",
        "NI",
        "NL",
        "NO",
        "NP",
        "NR",
        "NU",
        "NZ",
        "OM",
        "PA",
        "PE",
        "PF",
        "PG",
        "PH",
        "PK",
        "PL",
        "PM",
        "PN",
        "PR",
        "PS",
        "PT",
        "PW",
        "PY",
        "QA",
        "RE",
        "RO",
        "RS",
        "RU",
        "RW",
        "SA",
        "SB",
        "SC",
        "SD",
        "SE",
        "SG",
        "SH",
        "SI",
        "SJ",
        "SK",
        "SL",
        "SM",
        "SN",
        "SO",
        "SR",
        "SS",
        "ST",
        "SV",
        "SX",
        "SY",
        "SZ",
        "TC",
        "TD",
        "TF",
        "TG",
        "TH",
        "TJ",
        "TK",
        "TL",
        "TM",
        "TN",
        "TO",
        "TR",
        "TT",
        "TV",
        "TW",
        "TZ",
        "UA",
        "UG",
        "UM",
        "US",
        "UY",
        "UZ",
        "VA",
        "VC",
        "VE",
        "VG",
        "VI",
        "VN",
        "VU",
        "WF",
        "WS",
        "YE",
        "YT",
        "ZA",
        "ZM",
        "ZW",
    ]
)

_SHAPE = re.compile(r"^([A-Z]{2})(\d{8})(\d)([A-Z]{2})$")
_SPACES = re.compile(r"[\s\-]+")


class S10Error(ValueError):
    """An id that is not a valid S10 identifier; the message is Vietnamese first, then English."""


@dataclass(frozen=True, slots=True)
class S10Parts:
    service: str
    serial: str
    check: int
    country: str

    @property
    def item_id(self) -> str:
        return f"{self.service}{self.serial}{self.check}{self.country}"

    @property
    def ours(self) -> bool:
        """Issued by this system (one of our prefixes, Vietnam)."""
        return self.country == OUR_COUNTRY and self.service in OUR_PREFIXES

    def __str__(self) -> str:
        return self.item_id


def normalize(raw: str) -> str:
    """Upper-case and drop spaces/hyphens people type or print in the middle (``rr 473 124 829 gb``)."""
    return _SPACES.sub("", raw).upper()


def check_digit(serial8: str) -> int:
    if len(serial8) != 8 or not serial8.isascii() or not serial8.isdigit():
        raise S10Error(f"Số sê-ri phải gồm đúng 8 chữ số / serial must be exactly 8 digits: {serial8!r}")
    c = 11 - sum(int(d) * w for d, w in zip(serial8, WEIGHTS, strict=True)) % 11
    if c == 10:
        return 0
    if c == 11:
        return 5
    return c


def _invalid(raw: str, why_vi: str, why_en: str) -> S10Error:
    return S10Error(f"Mã bưu gửi không hợp lệ: {why_vi} / Invalid S10 item id: {why_en} ({raw!r})")


def parse(item_id: str) -> S10Parts:
    """Split a (normalised) id into its parts, checking shape, check digit and country."""
    if not isinstance(item_id, str):
        raise _invalid(repr(item_id), "phải là chuỗi ký tự", "must be a string")
    value = normalize(item_id)
    m = _SHAPE.match(value)
    if m is None:
        raise _invalid(
            item_id,
            "cần 13 ký tự dạng 2 chữ cái + 9 chữ số + 2 chữ cái, ví dụ HS123456785VN",
            "expected 13 characters: 2 letters, 9 digits, 2 letters, e.g. HS123456785VN",
        )
    service, serial, check, country = m.group(1), m.group(2), int(m.group(3)), m.group(4)
    if check_digit(serial) != check:
        raise _invalid(item_id, "sai chữ số kiểm tra", "wrong check digit")
    if country not in ISO_COUNTRIES:
        raise _invalid(item_id, f"mã quốc gia {country} không tồn tại", f"unknown country code {country}")
    return S10Parts(service=service, serial=serial, check=check, country=country)


def is_valid(item_id: object) -> bool:
    if not isinstance(item_id, str):
        return False
    try:
        parse(item_id)
    except S10Error:
        return False
    return True


def make(prefix: str, serial: int, country: str = OUR_COUNTRY) -> str:
    """Build an id from a service indicator and a serial number 0..99 999 999."""
    prefix, country = prefix.upper(), country.upper()
    if not re.fullmatch(r"[A-Z]{2}", prefix):
        raise S10Error(f"Mã dịch vụ phải gồm 2 chữ cái / service indicator must be 2 letters: {prefix!r}")
    if country not in ISO_COUNTRIES:
        raise S10Error(f"Mã quốc gia không tồn tại / unknown country code: {country!r}")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial <= 99_999_999:
        raise S10Error(f"Số sê-ri phải từ 0 đến 99999999 / serial must be in 0..99999999: {serial!r}")
    serial8 = f"{serial:08d}"
    return f"{prefix}{serial8}{check_digit(serial8)}{country}"


def _validate(value: str) -> str:
    return parse(value).item_id


# Use in Pydantic/SQLModel models: ``item_id: S10Id``; input "hs 123456785 vn" is stored as "HS123456785VN".
S10Id = Annotated[str, AfterValidator(_validate)]
