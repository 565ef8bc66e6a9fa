"""Secrets come from the environment; production refuses defaults."""

from pathlib import Path

import pytest

from backend.accounts.phones import normalise_phone
from backend.lib.problems import Problem
from backend.settings import ConfigError, Settings, local_secret

URL = "https://hoso.example.vn"


def test_production_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail closed: a deployment that forgets APP_ENV gets production's checks, not the demo's leniency."""
    monkeypatch.delenv("APP_ENV")
    monkeypatch.delenv("SECRET_KEY")
    settings = Settings()
    assert settings.is_production and settings.secret_key == ""
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        settings.validate()
    with pytest.raises(ConfigError, match="APP_ENV"):
        Settings(env="prod", secret_key="k" * 40).validate()


def test_no_public_default_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Outside production an unset SECRET_KEY is this checkout's own random key, never a published one."""
    monkeypatch.delenv("SECRET_KEY")
    monkeypatch.setattr("backend.settings.DEV_SECRET_FILE", tmp_path / "secret_key")
    first = Settings(env="development").secret_key
    assert len(first) >= 32 and first == Settings(env="development").secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # owner only
    other = local_secret(tmp_path / "elsewhere")
    assert other != first  # random, not a constant


def test_production_refuses_short_secret() -> None:
    with pytest.raises(ConfigError):
        Settings(env="production", secret_key="", otp_test_numbers="").validate()
    with pytest.raises(ConfigError):
        Settings(env="production", secret_key="short", otp_test_numbers="").validate()
    Settings(
        env="production",
        secret_key="k" * 40,
        otp_test_numbers="",
        firebase_project_id="p",
        public_base_url=URL,
    ).validate()


def test_production_refuses_fixed_codes() -> None:
    with pytest.raises(ConfigError):
        Settings(env="production", secret_key="k" * 40, otp_test_numbers="+84900000001:123456").validate()


def test_firebase_emulator_refused_outside_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")
    with pytest.raises(ConfigError):
        Settings(env="development").validate()
    Settings(env="test").validate()


def test_retired_redirections_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """FCM_BASE_URL and FIREBASE_ID_TOKEN_CERT_URL used to redirect pushes and the certificates that sign
    citizens' sign-ins; they are gone (issue 18), and a deployment still setting one is refused rather than
    left believing it works, in production and everywhere else."""
    base = {"env": "production", "secret_key": "k" * 40, "otp_test_numbers": "", "firebase_project_id": "p",
            "public_base_url": URL}  # fmt: skip
    Settings(**base).validate()  # type: ignore[arg-type]
    for name, value in [
        ("FIREBASE_ID_TOKEN_CERT_URL", "http://127.0.0.1:9/certs"),
        ("FCM_BASE_URL", "https://fcm.googleapis.com"),
        ("FCM_HTTP", "2"),
        ("FCM_MAX_CONNECTIONS", "100"),
    ]:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            for env in ("production", "test"):
                with pytest.raises(ConfigError, match=name):
                    Settings(**{**base, "env": env}).validate()  # type: ignore[arg-type]
    assert "firebase_id_token_cert_url" not in Settings.__dataclass_fields__
    assert "fcm_base_url" not in Settings.__dataclass_fields__


def test_several_processes_need_redis() -> None:
    """Desk-feed events are published in the process that made the change: without Redis they would be lost
    for clerks connected to another process."""
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Settings(env="development", web_concurrency=2, redis_url="").validate()
    Settings(env="development", web_concurrency=2, redis_url="redis://127.0.0.1:6379/0").validate()
    Settings(env="development", web_concurrency=1, redis_url="").validate()


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

    env: dict[str, str] = {"APP_ENV": "development"}
    assert demo_environment("run", env) and env["OTP_TEST_NUMBERS"] == DEMO_TEST_NUMBERS
    unset: dict[str, str] = {}  # no APP_ENV is production: no fixed codes
    assert not demo_environment("run", unset) and "OTP_TEST_NUMBERS" not in unset
    codes = Settings(otp_test_numbers=env["OTP_TEST_NUMBERS"]).test_codes()
    assert codes["+84900000001"] == codes["+84900000099"] == "123456" and len(codes) == 99
    assert not demo_environment("serve", {})  # only the demo command
    production: dict[str, str] = {"APP_ENV": "production"}
    assert not demo_environment("run", production) and "OTP_TEST_NUMBERS" not in production
    chosen = {"OTP_TEST_NUMBERS": "+84911111111:000000"}
    assert not demo_environment("run", chosen) and chosen["OTP_TEST_NUMBERS"] == "+84911111111:000000"


def test_demo_commands_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``run`` and ``seed-demo`` would create staff with the README's password: never in production."""
    from backend import __main__ as cli
    from backend.settings import get_settings

    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.delenv("OTP_TEST_NUMBERS")
    monkeypatch.setenv("FIREBASE_PROJECT_ID", "hoso-test")  # else refused for want of an SMS provider first
    monkeypatch.setenv("PUBLIC_BASE_URL", URL)  # else refused for want of its public address first
    get_settings.cache_clear()
    try:
        for command in ("seed-demo", "run"):
            assert cli.main([command]) == 2
            assert "refused in production" in capsys.readouterr().err
            assert "OTP_TEST_NUMBERS" not in __import__("os").environ
    finally:
        get_settings.cache_clear()


def test_production_needs_its_public_https_address() -> None:
    """Issue 22: tracking links and receipts sent by SMS and Zalo are built from PUBLIC_BASE_URL; production
    refuses to start without it, over plain http, with a query or too long for a ZNS parameter."""
    base = {"env": "production", "secret_key": "k" * 40, "otp_test_numbers": "", "firebase_project_id": "p"}
    for bad in ("", "http://hoso.example.vn", "https://", "https://hoso.example.vn?x=1",
                "https://hoso.example.vn/" + "a" * 140):  # fmt: skip
        with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
            Settings(**base, public_base_url=bad).validate()  # type: ignore[arg-type]
    Settings(**base, public_base_url="https://hoso.example.vn/api").validate()  # type: ignore[arg-type]
    Settings(env="test", secret_key="k" * 40, public_base_url="").validate()  # outside production: optional
