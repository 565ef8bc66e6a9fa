"""Secrets come from the environment; production refuses defaults."""

import pytest

from backend.accounts.phones import normalise_phone
from backend.lib.problems import Problem
from backend.settings import DEFAULT_SECRET, ConfigError, Settings


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ConfigError):
        Settings(env="production", secret_key=DEFAULT_SECRET, otp_test_numbers="").validate()
    with pytest.raises(ConfigError):
        Settings(env="production", secret_key="short", otp_test_numbers="").validate()
    Settings(env="production", secret_key="k" * 40, otp_test_numbers="").validate()


def test_production_refuses_fixed_codes() -> None:
    with pytest.raises(ConfigError):
        Settings(env="production", secret_key="k" * 40, otp_test_numbers="+84900000001:123456").validate()


def test_firebase_emulator_refused_outside_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    with pytest.raises(ConfigError):
        Settings(env="development").validate()
    Settings(env="test").validate()


def test_test_number_ranges() -> None:
    codes = Settings(otp_test_numbers="+84900000001-+84900000099:123456,+84911111111:654321").test_codes()
    assert len(codes) == 100
    assert codes["+84900000001"] == codes["+84900000099"] == "123456"
    assert "+84900000100" not in codes
    assert codes["+84911111111"] == "654321"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("0912345678", "+84912345678"), ("+84 912 345 678", "+84912345678"), ("84912345678", "+84912345678")],
)
def test_phone_normalisation(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "12345", "+8491234567", "+1 555 0100", "09123456789x"])
def test_bad_phones_are_422(raw: str) -> None:
    with pytest.raises(Problem) as exc:
        normalise_phone(raw)
    assert exc.value.status_code == 422


def test_the_demo_command_configures_the_readmes_test_numbers_outside_production() -> None:
    from backend.__main__ import DEMO_TEST_NUMBERS, demo_environment
    from backend.settings import Settings

    env: dict[str, str] = {}
    assert demo_environment("run", env) and env["OTP_TEST_NUMBERS"] == DEMO_TEST_NUMBERS
    codes = Settings(otp_test_numbers=env["OTP_TEST_NUMBERS"]).test_codes()
    assert codes["+84900000001"] == codes["+84900000099"] == "123456" and len(codes) == 99
    assert not demo_environment("serve", {})  # only the demo command
    production: dict[str, str] = {"APP_ENV": "production"}
    assert not demo_environment("run", production) and "OTP_TEST_NUMBERS" not in production
    chosen = {"OTP_TEST_NUMBERS": "+84911111111:000000"}
    assert not demo_environment("run", chosen) and chosen["OTP_TEST_NUMBERS"] == "+84911111111:000000"
