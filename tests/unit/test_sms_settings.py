"""SMS settings fail closed (issue 22): production needs a way for citizens to get their codes other than the log."""

import pytest

from backend.settings import ConfigError, Settings

PROD = {
    "env": "production",
    "secret_key": "k" * 40,
    "otp_test_numbers": "",
    "public_base_url": "https://hoso.example.vn",
}
ESMS = {
    "sms_provider": "esms",
    "sms_esms_api_key": "a",
    "sms_esms_secret_key": "s",
    "sms_brandname": "BUUDIEN",
}


def test_production_refuses_the_log_sender() -> None:
    with pytest.raises(ConfigError, match="SMS_PROVIDER=log"):
        Settings(**PROD, sms_provider="log").validate()  # type: ignore[arg-type]
    Settings(**PROD, **ESMS).validate()  # type: ignore[arg-type]
    # Firebase phone sign-in instead: allowed, and the SMS code endpoint then answers 503 (backend/accounts/otp.py).
    Settings(**PROD, sms_provider="log", firebase_project_id="hoso").validate()  # type: ignore[arg-type]
    Settings(env="development", sms_provider="log").validate()


@pytest.mark.parametrize("missing", ["sms_esms_api_key", "sms_esms_secret_key", "sms_brandname"])
def test_esms_needs_its_credentials_and_brand_name(missing: str) -> None:
    with pytest.raises(ConfigError, match="SMS_PROVIDER=esms needs"):
        Settings(env="test", **{**ESMS, missing: ""}).validate()  # type: ignore[arg-type]


def test_other_sms_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="SMS_PROVIDER must be"):
        Settings(env="test", sms_provider="twilio").validate()
    with pytest.raises(ConfigError, match="SMS_CALLBACK_TOKEN"):
        Settings(env="test", sms_callback_token="short").validate()
    with pytest.raises(ConfigError, match="SMS_MAX_SEGMENTS"):
        Settings(env="test", sms_max_segments=0).validate()
    Settings(env="test", sms_callback_token="x" * 32).validate()


async def test_production_with_firebase_sign_in_sends_no_codes_to_the_log() -> None:
    """Refused before any database work or send: the code would otherwise sit in the production log."""
    from backend.accounts import otp
    from backend.lib.problems import Problem
    from notifications.sms import LogSmsSender

    settings = Settings(**PROD, sms_provider="log", firebase_project_id="hoso")  # type: ignore[arg-type]
    with pytest.raises(Problem) as e:
        await otp.request_code(None, settings, otp.SmsOtpSender(LogSmsSender()), "+84912345678")  # type: ignore[arg-type]
    assert (e.value.status_code, e.value.code) == (503, "sms_unavailable")
    assert e.value.headers and int(e.value.headers["Retry-After"]) > 0
