"""Vietnamese phone numbers: one normaliser and the mobile/landline split (issue 22).

Pure (no backend imports) so that ``notifications`` may use it too. Numbers are kept as E.164: a mobile is ``+84``
and 9 digits, a landline ``+84`` and 10 digits (``2`` and the area code first).

Mobile prefixes after the 2018 change from 11 to 10 digits (Bộ TT&TT, conversion 15/09/2018 - 30/06/2019;
lists at https://fptcorp.com.vn/danh-sach-dau-so-di-dong-10-so-tai-viet-nam-moi-nhat and
https://convert-phone-numbers.en.aptoide.com/app), plus the ranges allocated since to Vietnamobile (052),
Wintel/Reddi (055) and Itelecom (087), whose networks eSMS's delivery reports name (telcoid 6 Itel, 7 Reddi,
https://developers.esms.vn/en/esms-api/callback-url). Landlines: area codes 02x since the 2017 change
(Thông tư 15/2014/TT-BTTTT as amended; e.g. 024 Hà Nội, 028 TP.HCM), 11 digits with the leading 0.
"""

import re
from dataclasses import dataclass
from enum import StrEnum


class Network(StrEnum):
    viettel = "viettel"
    mobifone = "mobifone"
    vinaphone = "vinaphone"
    vietnamobile = "vietnamobile"
    gmobile = "gmobile"
    itelecom = "itelecom"
    reddi = "reddi"


MOBILE_PREFIXES: dict[str, Network] = {
    **dict.fromkeys(
        ("86", "96", "97", "98", "32", "33", "34", "35", "36", "37", "38", "39"), Network.viettel
    ),
    **dict.fromkeys(("89", "90", "93", "70", "76", "77", "78", "79"), Network.mobifone),
    **dict.fromkeys(("88", "91", "94", "81", "82", "83", "84", "85"), Network.vinaphone),
    **dict.fromkeys(("92", "52", "56", "58"), Network.vietnamobile),
    **dict.fromkeys(("99", "59"), Network.gmobile),
    "87": Network.itelecom,
    "55": Network.reddi,
}

_SEPARATORS = re.compile(r"[\s.\-()]")
# The national significant number after 0 / 84 / +84: 9 digits (mobile and the old short forms) or 2 and 9
# more (a landline with its 02x area code).
_NATIONAL = re.compile(r"^(?:\+84|84|0)(\d{9}|2\d{9})$")


class PhoneKind(StrEnum):
    mobile = "mobile"
    landline = "landline"
    other = (
        "other"  # 9 digits outside the mobile ranges (old numbers, unallocated ranges): stored, never texted
    )


@dataclass(frozen=True, slots=True)
class Phone:
    e164: str
    kind: PhoneKind
    network: Network | None = None

    @property
    def local(self) -> str:
        """As people write it: 0 and the national number (eSMS takes this form)."""
        return "0" + self.e164[3:]


def parse_phone(raw: str) -> Phone | None:
    """The number in ``raw`` (0…, 84…, +84…, with spaces, dots, dashes or brackets), or None if it is none."""
    m = _NATIONAL.match(_SEPARATORS.sub("", raw or ""))
    if m is None:
        return None
    national = m.group(1)
    if len(national) == 10:
        return Phone("+84" + national, PhoneKind.landline)
    network = MOBILE_PREFIXES.get(national[:2])
    return Phone("+84" + national, PhoneKind.mobile if network else PhoneKind.other, network)
