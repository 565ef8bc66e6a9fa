"""One normaliser for Vietnamese numbers (issue 22): the forms people write, mobiles by their post-2018
prefixes, landlines by their 02x area codes."""

import pytest

from backend.accounts.phones import mobile_phone, normalise_phone
from backend.lib.problems import Problem
from schemas.phones import Network, PhoneKind, parse_phone

TABLE = [
    # written as, E.164, kind, network
    ("0912345678", "+84912345678", PhoneKind.mobile, Network.vinaphone),
    ("+84912345678", "+84912345678", PhoneKind.mobile, Network.vinaphone),
    ("84912345678", "+84912345678", PhoneKind.mobile, Network.vinaphone),
    ("091 234 5678", "+84912345678", PhoneKind.mobile, Network.vinaphone),
    ("091.234.5678", "+84912345678", PhoneKind.mobile, Network.vinaphone),
    ("091-234-5678", "+84912345678", PhoneKind.mobile, Network.vinaphone),
    ("(+84) 91 234 5678", "+84912345678", PhoneKind.mobile, Network.vinaphone),
    ("0321234567", "+84321234567", PhoneKind.mobile, Network.viettel),  # was 0162
    ("0861234567", "+84861234567", PhoneKind.mobile, Network.viettel),
    ("0981234567", "+84981234567", PhoneKind.mobile, Network.viettel),
    ("0701234567", "+84701234567", PhoneKind.mobile, Network.mobifone),  # was 0120
    ("0891234567", "+84891234567", PhoneKind.mobile, Network.mobifone),
    ("0831234567", "+84831234567", PhoneKind.mobile, Network.vinaphone),  # was 0123
    ("0921234567", "+84921234567", PhoneKind.mobile, Network.vietnamobile),
    ("0561234567", "+84561234567", PhoneKind.mobile, Network.vietnamobile),  # was 0186
    ("0591234567", "+84591234567", PhoneKind.mobile, Network.gmobile),  # was 0199
    ("0991234567", "+84991234567", PhoneKind.mobile, Network.gmobile),
    ("0871234567", "+84871234567", PhoneKind.mobile, Network.itelecom),
    ("0551234567", "+84551234567", PhoneKind.mobile, Network.reddi),
    ("024 3825 1234", "+842438251234", PhoneKind.landline, None),  # Hà Nội
    ("028.3829.1234", "+842838291234", PhoneKind.landline, None),  # TP.HCM
    ("+84 236 382 1234", "+842363821234", PhoneKind.landline, None),  # Đà Nẵng
    ("0111234567", "+84111234567", PhoneKind.other, None),  # no network's range
    ("0501234567", "+84501234567", PhoneKind.other, None),
]


@pytest.mark.parametrize(("raw", "e164", "kind", "network"), TABLE)
def test_numbers_as_written(raw: str, e164: str, kind: PhoneKind, network: Network | None) -> None:
    phone = parse_phone(raw)
    assert phone is not None
    assert (phone.e164, phone.kind, phone.network) == (e164, kind, network)


@pytest.mark.parametrize(
    "raw",
    ["", "091234567", "09123456789", "01621234567", "+8591234567", "0912 345 67a", "+840912345678", "abc"],
)
def test_not_numbers(raw: str) -> None:
    assert parse_phone(raw) is None
    with pytest.raises(Problem) as e:
        normalise_phone(raw)
    assert (e.value.status_code, e.value.code) == (422, "invalid_phone")


def test_stored_numbers_keep_their_form() -> None:
    """Stored numbers stay +84 and 9 digits, mobile ranges or not (numbers kept before issue 22)."""
    assert normalise_phone("0912 345 678") == "+84912345678"
    assert normalise_phone("0111234567") == "+84111234567"


@pytest.mark.parametrize("raw", ["024 3825 1234", "02838291234"])
def test_landlines_are_refused_with_their_own_problem(raw: str) -> None:
    for check in (normalise_phone, mobile_phone):
        with pytest.raises(Problem) as e:
            check(raw)
        assert (e.value.status_code, e.value.code) == (422, "phone_not_mobile")
        assert e.value.detail.startswith("Số điện thoại cố định")


def test_only_mobile_ranges_get_texts() -> None:
    assert mobile_phone("0987654321").local == "0987654321"
    with pytest.raises(Problem) as e:
        mobile_phone("0111234567")
    assert e.value.code == "phone_not_mobile"
