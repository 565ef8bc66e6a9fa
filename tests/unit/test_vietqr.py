"""VietQR payloads against the NAPAS specification's published examples (CRC included)."""

import pytest

from backend.money import vietqr
from backend.settings import ConfigError, Settings

# NAPAS IBFT QR specification v1.5.2, its examples of a static and a dynamic transfer-to-account code.
NAPAS_STATIC = "00020101021138570010A00000072701270006970403011300110123456780208QRIBFTTA53037045802VN6304"
NAPAS_DYNAMIC = (
    "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN"
    "62340107NPS68690819thanh toan don hang63042E2E"
)


def test_crc_of_published_examples() -> None:
    assert (
        vietqr.crc16_ccitt_false(
            "00020101021138570010A00000072701270006970403011200110123456780208QRIBFTTA53037045802VN6304"
        )
        == "F4E5"
    )
    assert vietqr.crc16_ccitt_false(NAPAS_DYNAMIC[:-4]) == "2E2E"
    # the CRC-16/CCITT-FALSE check value of the catalogue of parametrised CRCs
    assert vietqr.crc16_ccitt_false("123456789") == "29B1"


def test_dynamic_payload_equals_the_napas_example() -> None:
    account = vietqr.VietQrAccount(bin="970403", account_no="0011012345678")
    got = vietqr.payload(account, amount_vnd=180000, bill_number="NPS6869", purpose="thanh toán đơn hàng")
    assert got == NAPAS_DYNAMIC


def test_static_payload_has_no_amount_and_point_11() -> None:
    account = vietqr.VietQrAccount(bin="970403", account_no="0011012345678")
    got = vietqr.payload(account)
    # the spec's static example prints the account's length as 12 (its CRC F4E5 is over that text); with
    # the account's real length 13 the same example's CRC is 9E6F, as the spec's text about it says
    assert got == NAPAS_STATIC + "9E6F"
    fields = vietqr.parse(got)
    assert fields["01"] == "11" and "54" not in fields


def test_parse_rejects_one_changed_character() -> None:
    assert vietqr.parse(NAPAS_DYNAMIC)["54"] == "180000"
    tampered = NAPAS_DYNAMIC.replace("180000", "100000")
    with pytest.raises(ValueError):
        vietqr.parse(tampered)


def test_accents_stripped_and_text_cut() -> None:
    assert vietqr.ascii_text("Lệ phí hồ sơ Đồng Tháp", 25) == "Le phi ho so Dong Thap"
    assert len(vietqr.ascii_text("x" * 40, 25)) == 25


@pytest.mark.parametrize(
    ("bin_", "account", "amount"),
    [("97040", "1", 1), ("970403", "", 1), ("970403", "12 34", 1), ("970403", "1", 0), ("970403", "1", -5)],
)
def test_bad_input_refused(bin_: str, account: str, amount: int) -> None:
    with pytest.raises(ValueError):
        vietqr.payload(vietqr.VietQrAccount(bin=bin_, account_no=account), amount_vnd=amount)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"vietqr_bank_bin": "97040"}, "VIETQR_BANK_BIN"),
        ({"vietqr_bank_bin": "97040a"}, "VIETQR_BANK_BIN"),
        ({"vietqr_account_no": "12 34"}, "VIETQR_ACCOUNT_NO"),
        ({"vietqr_account_no": "1" * 20}, "VIETQR_ACCOUNT_NO"),
        ({"vnpay_tmn_code": "HOSOTEST"}, "VNPAY_HASH_SECRET"),
        ({"vnpay_hash_secret": "secret"}, "VNPAY_TMN_CODE"),
    ],
)
def test_payment_settings_are_checked_at_start(fields: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings(env="development", **fields).validate()  # type: ignore[arg-type]
    Settings(
        env="development",
        vietqr_bank_bin="970405",
        vietqr_account_no="1234567890",
        vnpay_tmn_code="A",
        vnpay_hash_secret="B",
    ).validate()
