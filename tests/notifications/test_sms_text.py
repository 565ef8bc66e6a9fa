"""SMS length rules (3GPP TS 23.038/23.040): GSM-7 160/153, UCS-2 70/67, extension characters count twice;
Vietnamese unaccented for gateways that need it; too long refused or cut per the segment limit."""

import pytest

from notifications.sms.templates import sign_in_code
from notifications.sms.text import TooLongError, fit, segments, unaccented

TABLE = [
    # text, encoding, units, segments
    ("", "gsm7", 0, 1),
    ("a" * 160, "gsm7", 160, 1),
    ("a" * 161, "gsm7", 161, 2),
    ("a" * 306, "gsm7", 306, 2),
    ("a" * 307, "gsm7", 307, 3),
    ("€" * 80, "gsm7", 160, 1),  # extension table: two septets each
    ("{" * 81, "gsm7", 162, 2),
    ("ă" * 70, "ucs2", 70, 1),
    ("ă" * 71, "ucs2", 71, 2),
    ("ă" * 134, "ucs2", 134, 2),
    ("ă" * 135, "ucs2", 135, 3),
    ("Hồ sơ", "ucs2", 5, 1),
    ("a" * 159 + "ư", "ucs2", 160, 3),  # one accented letter makes the whole message UCS-2
    ("😀" * 35, "ucs2", 70, 1),  # outside the BMP: two UTF-16 units each
]


@pytest.mark.parametrize(("text", "encoding", "units", "count"), TABLE)
def test_segments(text: str, encoding: str, units: int, count: int) -> None:
    s = segments(text)
    assert (s.encoding, s.units, s.count) == (encoding, units, count)


@pytest.mark.parametrize(
    ("accented", "plain"),
    [
        ("Hồ sơ đã sẵn sàng", "Ho so da san sang"),
        ("ĐỒNG NAI, Đắk Lắk", "DONG NAI, Dak Lak"),
        ("Bộ phận Một cửa", "Bo phan Mot cua"),
        ("Nguyễn Thị Ánh Tuyết", "Nguyen Thi Anh Tuyet"),
        ("ưởng ỹ ỵ", "uong y y"),
    ],
)
def test_unaccented(accented: str, plain: str) -> None:
    assert unaccented(accented) == plain
    assert segments(unaccented(accented)).encoding == "gsm7"


def test_sign_in_text_is_one_gsm7_segment_unaccented() -> None:
    text = fit(sign_in_code("042917", 300), unicode=False, max_segments=1)
    assert text.startswith("042917 la ma dang nhap Ho so qua buu dien, hieu luc 5 phut")
    assert "042917 is your sign-in code" in text
    assert segments(text).count == 1 and segments(text).encoding == "gsm7"
    with pytest.raises(TooLongError):  # accented, the same text takes three UCS-2 segments
        fit(sign_in_code("042917", 300), unicode=True, max_segments=1)


def test_too_long_is_refused_or_cut() -> None:
    long = "Kết quả hồ sơ " * 30
    with pytest.raises(TooLongError):
        fit(long, unicode=False, max_segments=2)
    cut = fit(long, unicode=False, max_segments=2, truncate=True)
    assert cut.endswith("...") and segments(cut).count == 2 and segments(cut + "x").count == 3
    cut = fit(long, unicode=True, max_segments=1, truncate=True)
    assert cut.startswith("Kết quả") and segments(cut).count == 1 and segments(cut).units <= 70
