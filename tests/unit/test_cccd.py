"""The CCCD number's structure (Circular 59/2021/TT-BCA art. 7; province codes of Circular 07/2016/TT-BCA)."""

from datetime import date

import pytest

from backend.accounts.authorisations import typed_matches
from backend.accounts.identity_cccd import PROVINCES, CccdError, mask, parse

TODAY = date(2026, 12, 6)


def test_the_63_province_codes() -> None:
    assert len(PROVINCES) == 63
    assert PROVINCES["001"] == "Hà Nội" and PROVINCES["079"] == "Hồ Chí Minh"
    assert PROVINCES["087"] == "Đồng Tháp" and PROVINCES["096"] == "Cà Mau"
    assert all(len(c) == 3 and c.isdigit() for c in PROVINCES)


@pytest.mark.parametrize(
    ("number", "province", "female", "year"),
    [
        ("001090001234", "Hà Nội", False, 1990),  # 0: 20th century, male
        ("079185123456", "Hồ Chí Minh", True, 1985),  # 1: 20th century, female
        ("087200654321", "Đồng Tháp", False, 2000),  # 2: 21st century, male
        ("096326000001", "Cà Mau", True, 2026),  # 3: 21st century, female, born this year
        ("031199999999", "Hải Phòng", True, 1999),
        ("087 090 001 234", "Đồng Tháp", False, 1990),  # spaces as people type them
        ("087.090.001.234", "Đồng Tháp", False, 1990),
    ],
)
def test_valid_numbers(number: str, province: str, female: bool, year: int) -> None:
    parsed = parse(number, TODAY)
    assert parsed.province == province and parsed.female is female and parsed.birth_year == year
    assert len(parsed.number) == 12 and parsed.number.isdigit()


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("", "length"),
        ("08709000123", "length"),  # 11 digits
        ("0870900012345", "length"),  # 13 digits
        ("08709000123A", "length"),
        ("０８７０９０００１２３４", "length"),  # full-width digits are not ASCII
        ("003090001234", "province"),  # no province 003
        ("099090001234", "province"),  # after Cà Mau (096)
        ("000090001234", "province"),
        ("100090001234", "province"),
        ("087327001234", "birth_year"),  # 3 = 21st century: 2027, next year
        ("087399001234", "birth_year"),  # 2099
        ("087400001234", "birth_year"),  # 4 = 22nd century: 2100
        ("087900001234", "birth_year"),  # 24th century
    ],
)
def test_invalid_numbers(number: str, reason: str) -> None:
    with pytest.raises(CccdError) as caught:
        parse(number, TODAY)
    assert caught.value.reason == reason


def test_a_year_becomes_valid_when_it_comes() -> None:
    with pytest.raises(CccdError):
        parse("087327001234", TODAY)
    assert parse("087327001234", date(2027, 1, 1)).birth_year == 2027


def test_mask_shows_the_first_and_last_digit() -> None:
    assert mask("087090001234") == "0**********4"
    assert mask(None) is None and mask("") is None


@pytest.mark.parametrize(
    ("typed", "matched", "how"),
    [
        ("087090001234", True, "full"),
        ("087 090 001 234", True, "full"),
        ("001234", True, "last6"),
        ("087090001235", False, "full"),
        ("001235", False, "last6"),
        ("1234", False, "invalid"),  # 4 digits: neither
        ("0870900012", False, "invalid"),
        ("abcdef", False, "invalid"),
    ],
)
def test_a_typed_number_matches_in_full_or_by_its_last_six(typed: str, matched: bool, how: str) -> None:
    assert typed_matches(typed, "087090001234") == (matched, how)
