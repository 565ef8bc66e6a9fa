"""Settings come from the environment (twelve-factor); defaults are for the embedded demo.

The service refuses to start in production with a default secret or with the Firebase Auth emulator set.
"""

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "dev-only-secret-change-me-0123456789abcdef"
DEFAULT_DB = f"sqlite+aiosqlite:///{ROOT / 'var' / 'hoso.db'}"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


class ConfigError(RuntimeError):
    """The configuration is unsafe or inconsistent; the service must not start."""


@dataclass(frozen=True)
class Settings:
    env: str = field(default_factory=lambda: _env("APP_ENV", "development"))
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", DEFAULT_DB))
    # Connections per process (PostgreSQL): workers x pool size must stay under the server's max_connections.
    database_pool_size: int = field(default_factory=lambda: int(_env("DATABASE_POOL_SIZE", "10")))
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY", DEFAULT_SECRET))
    token_ttl_s: int = field(default_factory=lambda: int(_env("TOKEN_TTL_S", "43200")))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8000")))
    # API processes (backend/server.py): one per core is the usual choice on a dedicated machine.
    web_concurrency: int = field(default_factory=lambda: int(_env("WEB_CONCURRENCY", "1")))
    demo_password: str = field(default_factory=lambda: _env("DEMO_PASSWORD", "demo1234"))
    # Fixed sign-in codes for test phone numbers, like Firebase's test numbers: "PHONE[-PHONE]:CODE[,...]".
    otp_test_numbers: str = field(default_factory=lambda: _env("OTP_TEST_NUMBERS", ""))
    otp_ttl_s: int = field(default_factory=lambda: int(_env("OTP_TTL_S", "300")))
    otp_max_per_hour: int = field(default_factory=lambda: int(_env("OTP_MAX_PER_HOUR", "5")))
    auth_rate_per_minute: int = field(default_factory=lambda: int(_env("AUTH_RATE_PER_MINUTE", "30")))
    firebase_credentials: str = field(default_factory=lambda: _env("FIREBASE_CREDENTIALS"))
    firebase_project_id: str = field(default_factory=lambda: _env("FIREBASE_PROJECT_ID"))
    fcm_base_url: str = field(default_factory=lambda: _env("FCM_BASE_URL"))
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL"))
    geocoder_url: str = field(default_factory=lambda: _env("GEOCODER_URL"))
    osrm_url: str = field(default_factory=lambda: _env("OSRM_URL"))
    upload_dir: str = field(default_factory=lambda: _env("UPLOAD_DIR", str(ROOT / "var" / "uploads")))
    # How booking counts a window's room: "shifts" (courier-minutes) or "routes" (also the day's plan must fit).
    booking_capacity: str = field(default_factory=lambda: _env("BOOKING_CAPACITY", "routes"))
    run_dispatcher: bool = field(default_factory=lambda: _bool("RUN_DISPATCHER", True))
    debug: bool = field(default_factory=lambda: _bool("DEBUG", False))

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def validate(self) -> None:
        if self.is_production:
            if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
                raise ConfigError("SECRET_KEY must be set to a random value of 32+ characters in production")
            if self.demo_password == "demo1234" and _bool("LOAD_DEMO", False):
                raise ConfigError("the demo password may not be used in production")
            if self.otp_test_numbers:
                raise ConfigError("OTP_TEST_NUMBERS (fixed sign-in codes) may not be set in production")
        if os.environ.get("FIREBASE_AUTH_EMULATOR_HOST") and self.env != "test":
            # The emulator accepts unsigned tokens: anyone could sign in as anyone.
            raise ConfigError("FIREBASE_AUTH_EMULATOR_HOST is set outside tests; refusing to start")

    def test_codes(self) -> dict[str, str]:
        """Phone -> fixed code for configured test numbers (ranges allowed: +84900000001-+84900000099:123456)."""
        codes: dict[str, str] = {}
        for chunk in filter(None, (c.strip() for c in self.otp_test_numbers.split(","))):
            numbers, _, code = chunk.partition(":")
            first, _, last = numbers.partition("-")
            if not last:
                codes[first] = code
                continue
            width = len(first) - 1
            for n in range(int(first[1:]), int(last[1:]) + 1):
                codes["+" + str(n).zfill(width)] = code
        return codes


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
