"""UPU S10 item ids: check digit, parsing, generation and the Pydantic type."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas.s10 import (
    ISO_COUNTRIES,
    OUR_COUNTRY,
    PREFIX_DOSSIER,
    PREFIX_RESULT,
    WEIGHTS,
    S10Error,
    S10Id,
    check_digit,
    is_valid,
    make,
    parse,
)

# Published examples (UPU S10 text / Wikipedia) and ids worked by hand:
#   47312482: 4*8+7*6+3*4+1*2+2*3+4*5+8*9+2*7 = 200, 200 mod 11 = 2, 11-2 = 9
#   87654321: 64+42+24+10+12+15+18+7 = 192, 192 mod 11 = 5, 11-5 = 6
#   28704377 (Wikipedia's RR287043775IN): 16+48+28+0+12+15+63+49 = 231, mod 11 = 0 -> 11 -> 5
#   12345678: 8+12+12+8+15+30+63+56 = 204, mod 11 = 6 -> 5 (the API contract's HS123456785VN)
#   00000001: 7, mod 11 = 7 -> 4;   00000004: 28, mod 11 = 6 -> 5;  00000006: 42 mod 11 = 9 -> 2
#   10000000: 8 -> 3;   30000000: 24 mod 11 = 2 -> 9;  00000000: 0 -> 11 -> 5
#   00000010: 9 -> 2;   00000012: 9+14 = 23 mod 11 = 1 -> 10 -> 0
VALID = [
    "RR473124829GB",
    "EE876543216CA",
    "RR287043775IN",
    "HS123456785VN",
    "KQ000000014VN",
    "CP000000045DE",
    "LA000000062US",
    "RR100000003FR",
    "EA300000009JP",
    "HS000000005VN",
    "KQ000000102VN",
    "RB000000120CN",
]


@pytest.mark.parametrize("item_id", VALID)
def test_hand_checked_ids_are_valid(item_id: str) -> None:
    assert is_valid(item_id)
    parts = parse(item_id)
    assert parts.item_id == item_id
    assert check_digit(parts.serial) == parts.check


@pytest.mark.parametrize(
    ("serial", "digit"),
    [("47312482", 9), ("87654321", 6), ("28704377", 5), ("00000000", 5), ("00000012", 0), ("12345678", 5)],
)
def test_check_digit_including_the_10_and_11_rules(serial: str, digit: int) -> None:
    assert check_digit(serial) == digit


@pytest.mark.parametrize(
    "item_id",
    [
        "RR473124828GB",  # wrong check digit
        "EE876543215CA",  # wrong check digit
        "HS123456784VN",  # wrong check digit
        "RR47312482GB",  # 12 characters
        "RR4731248299GB",  # 14 characters
        "RR47312A829GB",  # letter in serial
        "R1473124829GB",  # digit in service indicator
        "RR473124829G1",  # digit in country
        "RR473124829XX",  # not an ISO country
        "RR473124829ZZ",
        "",
        "RR473124829",
        "RR４７３124829GB",  # full-width digits are not ASCII digits
    ],
)
def test_invalid_ids(item_id: str) -> None:
    assert not is_valid(item_id)
    with pytest.raises(S10Error):
        parse(item_id)


def test_is_valid_rejects_non_strings() -> None:
    assert not is_valid(None)
    assert not is_valid(473124829)


def test_parse_normalises_case_spaces_and_hyphens() -> None:
    parts = parse("  rr 473 124 829 gb ")
    assert (parts.service, parts.serial, parts.check, parts.country) == ("RR", "47312482", 9, "GB")
    assert str(parse("hs-12345678-5-vn")) == "HS123456785VN"


def test_make_builds_our_ids() -> None:
    assert make(PREFIX_DOSSIER, 12345678) == "HS123456785VN"
    assert make(PREFIX_RESULT, 1) == "KQ000000014VN"
    assert make("rr", 47312482, "gb") == "RR473124829GB"
    assert parse(make(PREFIX_DOSSIER, 7)).ours
    assert not parse("RR473124829GB").ours
    assert not parse(make(PREFIX_DOSSIER, 7, "GB")).ours


@pytest.mark.parametrize(
    ("prefix", "serial", "country"),
    [("H", 1, "VN"), ("H1", 1, "VN"), ("HS", -1, "VN"), ("HS", 100_000_000, "VN"), ("HS", 1, "XX")],
)
def test_make_rejects_bad_input(prefix: str, serial: int, country: str) -> None:
    with pytest.raises(S10Error):
        make(prefix, serial, country)


def test_check_digit_rejects_bad_serials() -> None:
    for bad in ("1234567", "123456789", "1234567a", ""):
        with pytest.raises(S10Error):
            check_digit(bad)


def test_iso_table_has_all_assigned_codes() -> None:
    assert len(ISO_COUNTRIES) == 249
    assert {"VN", "GB", "CA", "IN", "US", "FR", "DE", "JP", "CN", "SS", "XK"} - ISO_COUNTRIES == {"XK"}


class _Item(BaseModel):
    item_id: S10Id


def test_pydantic_type_normalises() -> None:
    assert _Item(item_id=" hs 12345678 5 vn").item_id == "HS123456785VN"


def test_pydantic_type_gives_bilingual_error() -> None:
    with pytest.raises(ValidationError) as err:
        _Item(item_id="HS123456784VN")
    message = str(err.value)
    assert "Mã bưu gửi không hợp lệ" in message
    assert "Invalid S10 item id" in message
    with pytest.raises(ValidationError):
        _Item(item_id="HS12345678VN")


def test_sqlmodel_accepts_the_type() -> None:
    from sqlmodel import SQLModel

    class ItemIn(SQLModel):
        item_id: S10Id

    assert ItemIn.model_validate({"item_id": "kq000000014vn"}).item_id == "KQ000000014VN"


@given(
    prefix=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=2, max_size=2),
    serial=st.integers(0, 99_999_999),
    country=st.sampled_from(sorted(ISO_COUNTRIES)),
)
def test_make_always_valid_and_round_trips(prefix: str, serial: int, country: str) -> None:
    item_id = make(prefix, serial, country)
    assert len(item_id) == 13
    assert is_valid(item_id)
    parts = parse(item_id)
    assert (parts.service, int(parts.serial), parts.country) == (prefix, serial, country)


def _weighted_sum(serial8: str) -> int:
    return sum(int(d) * w for d, w in zip(serial8, WEIGHTS, strict=True))


@given(serial=st.integers(0, 99_999_999), position=st.integers(0, 7), delta=st.integers(1, 9))
def test_any_single_digit_change_of_the_serial_is_detected(serial: int, position: int, delta: int) -> None:
    """Every weight is non-zero mod 11, so the weighted sum always changes; the only blind spot is the S10
    rule mapping both 11 and 5 to 5 (sums = 0 and = 6 mod 11), which this test pins down exactly."""
    item_id = make(PREFIX_DOSSIER, serial, OUR_COUNTRY)
    chars = list(item_id)
    i = 2 + position
    chars[i] = str((int(chars[i]) + delta) % 10)
    changed = "".join(chars)
    sums = {_weighted_sum(item_id[2:10]) % 11, _weighted_sum(changed[2:10]) % 11}
    if sums == {0, 6}:
        assert item_id[10] == "5" and is_valid(changed)
    else:
        assert not is_valid(changed)


def test_the_known_blind_spot_of_s10() -> None:
    # 00000000 sums to 0 (check 11 -> 5), 90000000 sums to 72 = 6 mod 11 (check 5): both valid.
    assert is_valid("HS000000005VN") and is_valid("HS900000005VN")


@given(serial=st.integers(0, 99_999_999), wrong=st.integers(0, 9))
def test_a_wrong_check_digit_is_detected(serial: int, wrong: int) -> None:
    item_id = make(PREFIX_RESULT, serial)
    if int(item_id[10]) == wrong:
        return
    assert not is_valid(item_id[:10] + str(wrong) + item_id[11:])
