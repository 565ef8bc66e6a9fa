"""The citizen identity card number (số Căn cước công dân, CCCD; the personal identification number): a pure
check of its structure, and how it is shown masked.

Structure, as Circular 59/2021/TT-BCA art. 7 sets it (carried over from Circular 07/2016/TT-BCA art. 7), twelve
digits:

* digits 1-3: the code of the province or centrally-run city where the birth was registered (Appendix I of
  Circular 07/2016/TT-BCA: the 63 pre-2025 provinces, 001 Hà Nội … 096 Cà Mau; the 2025 merger of provinces did
  not renumber issued cards, so the old codes stay the valid ones);
* digit 4: century of birth and sex: 0/1 20th century (1900-1999) male/female, 2/3 21st, 4/5 22nd, 6/7 23rd,
  8/9 24th;
* digits 5-6: the last two digits of the year of birth;
* digits 7-12: a random number.

So a number is refused when it is not 12 ASCII digits, names no such province, or gives a year of birth after
this year (nobody holds a number before birth). The random part cannot be checked. Nothing here touches the
database or the web: ``backend/accounts/identity.py`` calls it and turns ``CccdError`` into a 422 problem.

Masking (Decree 13/2023/NĐ-CP art. 3, least data): outside the few tasks that need the whole number it is
shown as its first and last digit, ``0**********5``.
"""

from dataclasses import dataclass
from datetime import date

LENGTH = 12
RANDOM_DIGITS = 6  # the random tail: what a courier may type instead of the whole number

# Appendix I of Circular 07/2016/TT-BCA: province (centrally-run city) codes of the place of birth registration.
PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}


class CccdError(ValueError):
    """Why a number is refused: ``reason`` is ``length`` (not 12 digits), ``province`` or ``birth_year``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Cccd:
    number: str
    province_code: str
    province: str
    female: bool
    birth_year: int


def parse(value: str, today: date) -> Cccd:
    """The number's parts, or ``CccdError``. Spaces and dots people type between groups are dropped;
    ``today`` (the Vietnam date) bounds the year of birth."""
    number = "".join(ch for ch in value if ch not in " .-")
    if len(number) != LENGTH or not (number.isascii() and number.isdigit()):
        raise CccdError("length", "Số CCCD gồm đúng 12 chữ số / A CCCD number is exactly 12 digits")
    code = number[:3]
    if code not in PROVINCES:
        raise CccdError(
            "province",
            f"Mã tỉnh nơi đăng ký khai sinh '{code}' không tồn tại / No province has the code '{code}'",
        )
    gender_century = int(number[3])
    year = 1900 + 100 * (gender_century // 2) + int(number[4:6])
    if year > today.year:
        raise CccdError(
            "birth_year",
            f"Năm sinh {year} (mã thế kỷ {gender_century}) ở tương lai / Year of birth {year} (century "
            f"digit {gender_century}) is in the future",
        )
    return Cccd(number, code, PROVINCES[code], gender_century % 2 == 1, year)


def mask(number: str | None) -> str | None:
    """``0**********5``: the first and last digit, the rest hidden (None stays None)."""
    if not number:
        return None
    return number[0] + "*" * (len(number) - 2) + number[-1] if len(number) > 2 else "*" * len(number)


def tail(number: str) -> str:
    return number[-RANDOM_DIGITS:]
