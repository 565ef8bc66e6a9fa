"""Settings come from the environment (twelve-factor).

Fail closed: ``APP_ENV`` unset means production. Only ``make run`` (development) and the test suite (test) set
another value, explicitly. In production the service refuses to start with a missing or short secret, fixed
sign-in codes, the Firebase Auth emulator, a redirected certificate URL, or several processes without the
shared Redis that desk feeds need; the demo is never loaded there (``backend/__main__.py``).
"""

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = f"sqlite+aiosqlite:///{ROOT / 'var' / 'hoso.db'}"
ENVIRONMENTS = ("production", "development", "test")
# Settings issue 18 removed: FCM and Firebase sign-in go to Google's own addresses through firebase-admin's
# public API, so nothing may redirect them any more (a redirected certificate URL let its holder mint sign-ins).
RETIRED = ("FCM_BASE_URL", "FCM_HTTP", "FCM_MAX_CONNECTIONS", "FIREBASE_ID_TOKEN_CERT_URL")
# Outside production, with no SECRET_KEY, tokens are signed with a random key made once per checkout and kept
# here (owner-only): there is no public default secret that would let anyone forge a token.
DEV_SECRET_FILE = ROOT / "var" / "secret_key"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[Network, ...]:
    """``"10.0.0.1, 192.168.0.0/16, ::1"`` -> networks; ValueError naming a bad entry. Here, not in
    ``backend/lib/clientip.py`` (which uses it), so that ``TRUSTED_PROXIES`` is checked at start without
    settings importing the layer above them."""
    networks: list[Network] = []
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or network: {entry!r}") from None
    return tuple(networks)


class ConfigError(RuntimeError):
    """The configuration is unsafe or inconsistent; the service must not start."""


def local_secret(path: Path | None = None) -> str:
    """This checkout's own signing key for development: made at random on first use, then read back."""
    path = path or DEV_SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    try:  # link, not rename: whole file or nothing, and the first process's key wins
        os.link(draft, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        draft.unlink()
    return key


@dataclass(frozen=True)
class Settings:
    # production unless set: make run sets development, the test suite test (fail closed).
    env: str = field(default_factory=lambda: _env("APP_ENV", "production"))
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", DEFAULT_DB))
    # Connections per process (PostgreSQL): workers x pool size must stay under the server's max_connections.
    database_pool_size: int = field(default_factory=lambda: int(_env("DATABASE_POOL_SIZE", "10")))
    # Signs tokens (HS256). Required in production; elsewhere, when unset, this checkout's own random key.
    secret_key: str = field(default_factory=lambda: _env("SECRET_KEY"))
    token_ttl_s: int = field(default_factory=lambda: int(_env("TOKEN_TTL_S", "43200")))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8000")))
    # API processes (backend/server.py, Granian workers): one per core is the usual choice on a dedicated machine.
    web_concurrency: int = field(default_factory=lambda: int(_env("WEB_CONCURRENCY", "1")))
    # Server limits (backend/server.py, Granian), so that slow or oversized requests cannot hold the service:
    # a request's line and headers must arrive within this many seconds (also closes idle keep-alive
    # connections); Granian accepts 0.001-60.
    http_header_timeout_s: float = field(default_factory=lambda: float(_env("HTTP_HEADER_TIMEOUT_S", "10")))
    # ... and fit in this many bytes (HTTP/1 read buffer, at least 8192; HTTP/2 header list), else closed.
    http_max_header_bytes: int = field(default_factory=lambda: int(_env("HTTP_MAX_HEADER_BYTES", "65536")))
    # A request's body must arrive within this many seconds of its headers, else 408 (12 MiB at 2 Mbit/s).
    http_body_timeout_s: float = field(default_factory=lambda: float(_env("HTTP_BODY_TIMEOUT_S", "60")))
    # HTTP/1.1 keep-alive (an idle kept-alive connection is closed after HTTP_HEADER_TIMEOUT_S).
    http_keep_alive: bool = field(default_factory=lambda: _bool("HTTP_KEEP_ALIVE", True))
    # Connections served at once per API process (Granian's backpressure; open desk feeds and requests whose
    # headers are still arriving count); more wait in the listen backlog until one ends.
    http_max_concurrency: int = field(default_factory=lambda: int(_env("HTTP_MAX_CONCURRENCY", "1000")))
    # One access-log line per request from Granian (method, path, status, time). On by default; off where the
    # load balancer or proxy in front already logs every request: the line costs about a third of what the app
    # itself spends on a stored private read (measured with py-spy under bench.reads).
    access_log: bool = field(default_factory=lambda: _bool("ACCESS_LOG", True))
    # HTTP/2 without TLS (h2c), for a proxy that speaks it upstream. Off: browsers use HTTP/2 only over TLS,
    # which the proxy ends, and an idle or half-sent HTTP/2 connection has no header timeout (only pings).
    http2: bool = field(default_factory=lambda: _bool("HTTP2", False))
    # With HTTP2: concurrent streams per connection (Granian accepts 10 or more).
    http2_max_streams: int = field(default_factory=lambda: int(_env("HTTP2_MAX_STREAMS", "100")))
    # On SIGTERM: open desk feeds end at once, requests in progress get this many seconds (whole seconds,
    # at least 1), then the workers are killed, so a supervisor's restart always completes: keep it under the
    # supervisor's own kill delay (docker stop: 10 s; Kubernetes: terminationGracePeriodSeconds, 30 s).
    shutdown_timeout_s: float = field(default_factory=lambda: float(_env("SHUTDOWN_TIMEOUT_S", "8")))
    demo_password: str = field(default_factory=lambda: _env("DEMO_PASSWORD", "demo1234"))
    # Fixed sign-in codes for test phone numbers, like Firebase's test numbers: "PHONE[-PHONE]:CODE[,...]".
    otp_test_numbers: str = field(default_factory=lambda: _env("OTP_TEST_NUMBERS", ""))
    otp_ttl_s: int = field(default_factory=lambda: int(_env("OTP_TTL_S", "300")))
    otp_max_per_hour: int = field(default_factory=lambda: int(_env("OTP_MAX_PER_HOUR", "5")))
    # Sign-in requests per client IP and minute, counted apart for staff login, OTP send, OTP verify and the
    # Firebase exchange (backend/lib/ratelimit.py).
    auth_rate_per_minute: int = field(default_factory=lambda: int(_env("AUTH_RATE_PER_MINUTE", "30")))
    # Public reads (tracking, reference data...) per client IP and second, with bursts of PUBLIC_RATE_BURST,
    # for all processes together through Redis when REDIS_URL is set (within a chunk of tokens per process),
    # per process otherwise and while Redis is down (backend/lib/client_limit.py). Generous: many phones share
    # one carrier-NAT address.
    public_rate_per_s: float = field(default_factory=lambda: float(_env("PUBLIC_RATE_PER_S", "50")))
    public_rate_burst: int = field(default_factory=lambda: int(_env("PUBLIC_RATE_BURST", "200")))
    # Sign-in requests per phone number (OTP send, OTP verify) or staff username (login) and hour, from any IP.
    auth_account_rate_per_hour: int = field(
        default_factory=lambda: int(_env("AUTH_ACCOUNT_RATE_PER_HOUR", "20"))
    )
    # Proxies whose X-Forwarded-For is believed (comma list of IPs or CIDRs; empty: none, the client is the
    # TCP peer). The client is then the right-most address in it that is not a trusted proxy.
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", ""))
    # Wrong handover codes / recipient checks per citizen and Vietnam day before the day's code is locked, and
    # per staff member and hour before they are stopped (backend/custody/codeguard.py).
    handover_code_max_failures: int = field(
        default_factory=lambda: int(_env("HANDOVER_CODE_MAX_FAILURES", "5"))
    )
    handover_staff_max_failures_per_hour: int = field(
        default_factory=lambda: int(_env("HANDOVER_STAFF_MAX_FAILURES_PER_HOUR", "10"))
    )
    # Item-id labels a courier may hold unused (reserved ahead for offline pickups; issue 17: no exhausting the
    # S10 counter), and the days a reserved label stays valid before it is released for good.
    item_id_max_outstanding: int = field(default_factory=lambda: int(_env("ITEM_ID_MAX_OUTSTANDING", "200")))
    item_id_ttl_days: int = field(default_factory=lambda: int(_env("ITEM_ID_TTL_DAYS", "7")))
    # SMS (notifications/sms, issue 22): "log" (writes messages to the log; refused in production unless Firebase
    # phone sign-in is configured, and then the SMS code endpoint answers 503) or "esms" (eSMS.vn brand name).
    sms_provider: str = field(default_factory=lambda: _env("SMS_PROVIDER", "log"))
    sms_esms_api_key: str = field(default_factory=lambda: _env("SMS_ESMS_API_KEY"))
    sms_esms_secret_key: str = field(default_factory=lambda: _env("SMS_ESMS_SECRET_KEY"))
    sms_esms_base_url: str = field(default_factory=lambda: _env("SMS_ESMS_BASE_URL", "https://rest.esms.vn"))
    sms_esms_sandbox: bool = field(default_factory=lambda: _bool("SMS_ESMS_SANDBOX", False))
    sms_brandname: str = field(default_factory=lambda: _env("SMS_BRANDNAME"))
    # Accented Vietnamese (UCS-2: 70 characters a segment, dearer) only if the brand name is registered for it.
    sms_unicode: bool = field(default_factory=lambda: _bool("SMS_UNICODE", False))
    sms_max_segments: int = field(default_factory=lambda: int(_env("SMS_MAX_SEGMENTS", "2")))
    sms_timeout_s: float = field(default_factory=lambda: float(_env("SMS_TIMEOUT_S", "10")))
    # The secret in the delivery-report URL (eSMS signs nothing): reports go to
    # PUBLIC_BASE_URL/api/v1/sms/reports/esms/<token>; unset, no reports are asked for.
    sms_callback_token: str = field(default_factory=lambda: _env("SMS_CALLBACK_TOKEN"))
    # Notification channels (notifications/channels, issue 22): a notice of a kind that matters not opened within
    # CHANNEL_UNREAD_AFTER_S also goes by Zalo/SMS; what a message costs (VND: SMS per segment by encoding, ZNS per
    # message; 0 = unknown until the provider's report says); each channel's rate in messages per second, shared by
    # every dispatcher (0 = no limit); attempts before a delivery fails; ZNS_TEMPLATES "kind=template id,...".
    channel_unread_after_s: int = field(default_factory=lambda: int(_env("CHANNEL_UNREAD_AFTER_S", "1800")))
    sms_cost_gsm7_vnd: int = field(default_factory=lambda: int(_env("SMS_COST_GSM7_VND", "0")))
    sms_cost_ucs2_vnd: int = field(default_factory=lambda: int(_env("SMS_COST_UCS2_VND", "0")))
    zns_cost_vnd: int = field(default_factory=lambda: int(_env("ZNS_COST_VND", "0")))
    sms_rate_per_s: float = field(default_factory=lambda: float(_env("SMS_RATE_PER_S", "10")))
    zns_rate_per_s: float = field(default_factory=lambda: float(_env("ZNS_RATE_PER_S", "10")))
    channel_max_attempts: int = field(default_factory=lambda: int(_env("CHANNEL_MAX_ATTEMPTS", "6")))
    zns_templates: str = field(default_factory=lambda: _env("ZNS_TEMPLATES"))
    # Zalo ZNS (notifications/zns, issue 22): enabled when ZNS_APP_ID is set (the Zalo app linked to the OA), and
    # then ZNS_SECRET_KEY (the app's secret key, sent when refreshing the OA's token), ZNS_OA_SECRET_KEY (the
    # OA's secret key, which signs webhook events) and ZNS_REFRESH_TOKEN (the first refresh token, from the OA's
    # authorisation; the rotating ones after it live in the database) are required. ZNS_BASE_URL and
    # ZNS_OAUTH_URL default to Zalo's own; ZNS_DEVELOPMENT sends with "mode": "development" (OA admins only).
    zns_app_id: str = field(default_factory=lambda: _env("ZNS_APP_ID"))
    zns_secret_key: str = field(default_factory=lambda: _env("ZNS_SECRET_KEY"))
    zns_oa_secret_key: str = field(default_factory=lambda: _env("ZNS_OA_SECRET_KEY"))
    zns_refresh_token: str = field(default_factory=lambda: _env("ZNS_REFRESH_TOKEN"))
    zns_base_url: str = field(
        default_factory=lambda: _env("ZNS_BASE_URL", "https://business.openapi.zalo.me")
    )
    zns_oauth_url: str = field(default_factory=lambda: _env("ZNS_OAUTH_URL", "https://oauth.zaloapp.com"))
    zns_timeout_s: float = field(default_factory=lambda: float(_env("ZNS_TIMEOUT_S", "10")))
    zns_development: bool = field(default_factory=lambda: _bool("ZNS_DEVELOPMENT", False))
    firebase_credentials: str = field(default_factory=lambda: _env("FIREBASE_CREDENTIALS"))
    firebase_project_id: str = field(default_factory=lambda: _env("FIREBASE_PROJECT_ID"))
    firebase_auth_emulator_host: str = field(default_factory=lambda: _env("FIREBASE_AUTH_EMULATOR_HOST"))
    # Online payments (backend/money/online, issue 21): the VNPay merchant's terminal code and hash secret (both
    # unset: online payment answers 503), its payment page, and how long a payment link stays open. VNPay sends
    # IPNs to PUBLIC_BASE_URL/api/v1/payments/vnpay/ipn (registered with VNPay) and the payer's browser back to
    # PUBLIC_BASE_URL/api/v1/payments/vnpay/return.
    vnpay_tmn_code: str = field(default_factory=lambda: _env("VNPAY_TMN_CODE"))
    vnpay_hash_secret: str = field(default_factory=lambda: _env("VNPAY_HASH_SECRET"))
    vnpay_payment_url: str = field(
        default_factory=lambda: _env(
            "VNPAY_PAYMENT_URL", "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
        )
    )
    vnpay_expire_min: int = field(default_factory=lambda: int(_env("VNPAY_EXPIRE_MIN", "15")))
    # VietQR bank transfers (backend/money/vietqr.py): the collection account's bank (6-digit NAPAS BIN) and
    # number; unset, the VietQR endpoint answers 503.
    vietqr_bank_bin: str = field(default_factory=lambda: _env("VIETQR_BANK_BIN"))
    vietqr_account_no: str = field(default_factory=lambda: _env("VIETQR_ACCOUNT_NO"))
    # Settings that no longer exist but are still set (issue 18): refused, so nobody believes they still work.
    retired_set: tuple[str, ...] = field(default_factory=lambda: tuple(n for n in RETIRED if _env(n)))
    # Where a tapped push notification opens the app: its links are this base plus the dossier's path.
    app_link_base: str = field(default_factory=lambda: _env("APP_LINK_BASE"))
    # The service's public address (scheme, host, any path prefix), e.g. https://api.example.vn: problem answers'
    # ``type`` URIs point to its /problems/{code} pages. Empty: the address each request came to. Required (https)
    # in production: tracking links and receipts sent by SMS and Zalo are built from it.
    public_base_url: str = field(default_factory=lambda: _env("PUBLIC_BASE_URL").rstrip("/"))
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL"))
    # Live tracking links (backend/planning/tracking_link.py): a link ends when its visit does, or this many hours
    # after it was issued at the latest; its page and JSON answer serve this many requests per client IP and minute.
    tracking_link_max_hours: int = field(default_factory=lambda: int(_env("TRACKING_LINK_MAX_HOURS", "12")))
    tracking_link_rate_per_minute: int = field(
        default_factory=lambda: int(_env("TRACKING_LINK_RATE_PER_MINUTE", "60"))
    )
    geocoder_url: str = field(default_factory=lambda: _env("GEOCODER_URL"))
    osrm_url: str = field(default_factory=lambda: _env("OSRM_URL"))
    upload_dir: str = field(default_factory=lambda: _env("UPLOAD_DIR", str(ROOT / "var" / "uploads")))
    # How booking counts a window's room: "shifts" (courier-minutes) or "routes" (also the day's plan must fit).
    booking_capacity: str = field(default_factory=lambda: _env("BOOKING_CAPACITY", "routes"))
    # Failed home deliveries of a result before it goes back to the post office counter for collection
    # (backend/custody/services/side_effects.py; the citizen is offered a new visit while attempts remain).
    delivery_max_attempts: int = field(default_factory=lambda: int(_env("DELIVERY_MAX_ATTEMPTS", "2")))
    # A result (or returned papers) ready for a citizen who chose postal return is offered delivery windows;
    # with no choice after RETURN_OFFER_HOURS the earliest window the routes can absorb is booked by a sweep
    # every RETURN_SWEEP_S, which leases an offer for RETURN_LEASE_S (backend/custody/services/return_offers.py).
    return_offer_hours: float = field(default_factory=lambda: float(_env("RETURN_OFFER_HOURS", "24")))
    return_sweep_s: float = field(default_factory=lambda: float(_env("RETURN_SWEEP_S", "60")))
    return_lease_s: float = field(default_factory=lambda: float(_env("RETURN_LEASE_S", "120")))
    # Satisfaction ratings (backend/feedback, issue 23): a completed visit may be rated by its citizen for
    # RATING_WINDOW_DAYS after it, and a rating changed for RATING_EDIT_DAYS after it was given; the invitation
    # to rate is sent by a sweep every RATING_SWEEP_S (0: no sweep in this process; the default under APP_ENV=test,
    # where tests run the sweep themselves and other tests' visits are not sent invitations they do not expect).
    rating_window_days: int = field(default_factory=lambda: int(_env("RATING_WINDOW_DAYS", "14")))
    rating_edit_days: int = field(default_factory=lambda: int(_env("RATING_EDIT_DAYS", "3")))
    rating_sweep_s: float = field(
        default_factory=lambda: float(_env("RATING_SWEEP_S", "0" if _env("APP_ENV") == "test" else "60"))
    )
    # Scheduled money jobs (backend/money/scheduler.py, issue 21): every MONEY_SWEEP_S one process (a lease of
    # MONEY_LEASE_S) posts the dues of visits booked before dues were written at booking and makes each agency's
    # remittance batch of what is held for it. 0: not in this process (the default under APP_ENV=test).
    money_sweep_s: float = field(
        default_factory=lambda: float(_env("MONEY_SWEEP_S", "0" if _env("APP_ENV") == "test" else "3600"))
    )
    money_lease_s: float = field(default_factory=lambda: float(_env("MONEY_LEASE_S", "600")))
    # The province the demo loads (``python -m backend seed``/``run``): its code in the reference data.
    demo_province: str = field(default_factory=lambda: _env("DEMO_PROVINCE"))
    run_dispatcher: bool = field(default_factory=lambda: _bool("RUN_DISPATCHER", True))
    # Route-plan solves (issue 24, backend/planning/jobs.py): "embedded" (a solver child process of the web
    # process that took the request, one at a time; one machine, no extra server) or "saq" (jobs on Redis at
    # REDIS_URL, solved by ``python -m backend solver-worker`` processes on any number of machines). Production
    # with WEB_CONCURRENCY > 1 or RUN_DISPATCHER=false must use "saq".
    plan_queue: str = field(default_factory=lambda: _env("PLAN_QUEUE", "embedded"))
    # The SAQ queue's name (its Redis keys are saq:{name}:...): deployments sharing one Redis keep apart by it.
    plan_queue_name: str = field(default_factory=lambda: _env("PLAN_QUEUE_NAME", "plans"))
    # Solves at once per solver-worker process, each in its own child process (OR-Tools holds the GIL).
    solver_concurrency: int = field(default_factory=lambda: int(_env("SOLVER_CONCURRENCY", "1")))
    # A solve job not touched for this long belongs to a dead worker: the engine's sweep retries it elsewhere,
    # and the plan row (heartbeat as old) may be taken over by the retry.
    plan_job_heartbeat_s: int = field(default_factory=lambda: int(_env("PLAN_JOB_HEARTBEAT_S", "30")))
    # How often a solver worker sweeps stuck jobs and re-enqueues queued or stale plans that have no job.
    plan_sweep_s: int = field(default_factory=lambda: int(_env("PLAN_SWEEP_S", "15")))
    # Partner webhooks (backend/partners/delivery.py): a request's time limit, the lease a worker holds on a
    # delivery (longer than a request, so only a dead worker's deliveries are sent again), the attempts before
    # giving up and the backoff between them (30 s doubling to 6 h with jitter: 14 attempts span about a day).
    webhook_timeout_s: float = field(default_factory=lambda: float(_env("WEBHOOK_TIMEOUT_S", "10")))
    webhook_lease_s: float = field(default_factory=lambda: float(_env("WEBHOOK_LEASE_S", "60")))
    webhook_max_attempts: int = field(default_factory=lambda: int(_env("WEBHOOK_MAX_ATTEMPTS", "14")))
    webhook_backoff_base_s: float = field(default_factory=lambda: float(_env("WEBHOOK_BACKOFF_BASE_S", "30")))
    webhook_backoff_cap_s: float = field(
        default_factory=lambda: float(_env("WEBHOOK_BACKOFF_CAP_S", "21600"))
    )
    debug: bool = field(default_factory=lambda: _bool("DEBUG", False))

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def __post_init__(self) -> None:
        if not self.secret_key and self.env != "production":
            object.__setattr__(self, "secret_key", local_secret())

    def validate(self) -> None:
        """Refuse to start on a configuration that is unsafe (production) or that loses data (any)."""
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {self.env!r}")
        if self.is_production:
            if len(self.secret_key) < 32:
                raise ConfigError("SECRET_KEY must be set to a random value of 32+ characters in production")
            if self.otp_test_numbers:
                raise ConfigError("OTP_TEST_NUMBERS (fixed sign-in codes) may not be set in production")
        self._validate_numbers()
        if not 0 < self.webhook_timeout_s * 2 <= self.webhook_lease_s:
            raise ConfigError("WEBHOOK_LEASE_S must be at least twice WEBHOOK_TIMEOUT_S (and both positive)")
        if min(self.sms_cost_gsm7_vnd, self.sms_cost_ucs2_vnd, self.zns_cost_vnd) < 0:
            raise ConfigError("SMS_COST_GSM7_VND, SMS_COST_UCS2_VND and ZNS_COST_VND may not be negative")
        if min(self.sms_rate_per_s, self.zns_rate_per_s) < 0:
            raise ConfigError("SMS_RATE_PER_S and ZNS_RATE_PER_S may not be negative (0: no limit)")
        self._validate_zns()
        if self.sms_provider not in ("log", "esms"):
            raise ConfigError(f"SMS_PROVIDER must be log or esms, not {self.sms_provider!r}")
        if self.sms_provider == "esms" and not (
            self.sms_esms_api_key and self.sms_esms_secret_key and self.sms_brandname
        ):
            raise ConfigError(
                "SMS_PROVIDER=esms needs SMS_ESMS_API_KEY, SMS_ESMS_SECRET_KEY and SMS_BRANDNAME"
            )
        if self.vietqr_bank_bin and not (len(self.vietqr_bank_bin) == 6 and self.vietqr_bank_bin.isdigit()):
            raise ConfigError("VIETQR_BANK_BIN must be the bank's 6-digit NAPAS BIN")
        if self.vietqr_account_no and not (
            len(self.vietqr_account_no) <= 19
            and self.vietqr_account_no.isascii()
            and self.vietqr_account_no.isalnum()
        ):
            raise ConfigError("VIETQR_ACCOUNT_NO must be 1-19 letters or digits")
        if bool(self.vnpay_tmn_code) != bool(self.vnpay_hash_secret):
            raise ConfigError("VNPAY_TMN_CODE and VNPAY_HASH_SECRET are set together")
        if self.sms_max_segments < 1:
            raise ConfigError("SMS_MAX_SEGMENTS must be at least 1")
        if self.sms_callback_token and len(self.sms_callback_token) < 32:
            raise ConfigError("SMS_CALLBACK_TOKEN must be a random value of 32+ characters")
        if self.is_production and self.sms_provider == "log" and not self.firebase_project_id:
            # Citizens could not sign in at all: codes would only reach the log.
            raise ConfigError(
                "SMS_PROVIDER=log in production: configure an SMS provider, or Firebase phone sign-in "
                "(FIREBASE_PROJECT_ID), which then is the only citizen sign-in"
            )
        if self.retired_set:
            raise ConfigError(
                f"{', '.join(self.retired_set)}: no longer read. FCM and Google's ID-token certificates are "
                "reached at Google's own addresses (HTTPS_PROXY for an egress proxy, SSL_CERT_FILE / "
                "REQUESTS_CA_BUNDLE for a private CA; README, Configuration); unset them"
            )
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"TRUSTED_PROXIES: {exc}") from None
        if self.firebase_auth_emulator_host and self.env != "test":
            # The emulator accepts unsigned tokens: anyone could sign in as anyone.
            raise ConfigError("FIREBASE_AUTH_EMULATOR_HOST is set outside tests; refusing to start")
        self._validate_plan_queue()
        if self.is_production:
            self._validate_public_base_url()
        if self.web_concurrency > 1 and not self.redis_url:
            # Desk feeds publish in the process that made the change: without Redis, a clerk connected to
            # another process would silently miss events.
            raise ConfigError(
                "WEB_CONCURRENCY > 1 needs REDIS_URL (desk feeds and limits shared by every process)"
            )

    def _validate_public_base_url(self) -> None:
        """Tracking links and receipts sent by SMS/Zalo are built from PUBLIC_BASE_URL (issue 22): without it they
        would point at the bind address. https (RFC 9110 §4.2.2), a host, no query or fragment, and short enough
        that a link fits a ZNS parameter (notifications/zns/templates.py: 200 characters with the 25 of /v/<token>)."""
        url = urlsplit(self.public_base_url)
        if url.scheme != "https" or not url.hostname or url.query or url.fragment:
            raise ConfigError("PUBLIC_BASE_URL must be the service's https:// address in production")
        if len(self.public_base_url) > 150:
            raise ConfigError("PUBLIC_BASE_URL may be at most 150 characters (links sent by SMS and Zalo)")

    def _validate_numbers(self) -> None:
        """Counts, limits and periods that must be positive."""
        for name in (
            "auth_rate_per_minute",
            "auth_account_rate_per_hour",
            "public_rate_burst",
            "handover_code_max_failures",
            "handover_staff_max_failures_per_hour",
            "delivery_max_attempts",
            "webhook_max_attempts",
            "tracking_link_max_hours",
            "tracking_link_rate_per_minute",
            "channel_max_attempts",
            "channel_unread_after_s",
            "rating_window_days",
            "rating_edit_days",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be at least 1")
        if self.public_rate_per_s <= 0:
            raise ConfigError("PUBLIC_RATE_PER_S must be positive")
        if min(self.return_offer_hours, self.return_sweep_s, self.return_lease_s) <= 0:
            raise ConfigError("RETURN_OFFER_HOURS, RETURN_SWEEP_S and RETURN_LEASE_S must be positive")

    def _validate_plan_queue(self) -> None:
        """Route solves (issue 24): a known engine; SAQ needs Redis; production with several web processes or
        separate dispatchers (a multi-machine deployment) must not solve inside web processes. RUN_DISPATCHER=false
        alone is not refused: the test suite runs production settings with it, and one web process solving
        one plan at a time is still whole (a plan it was solving is re-queued at its restart)."""
        if self.plan_queue not in ("embedded", "saq"):
            raise ConfigError(f"PLAN_QUEUE={self.plan_queue!r}: use 'embedded' or 'saq'")
        if self.plan_queue == "saq" and not self.redis_url:
            raise ConfigError("PLAN_QUEUE=saq needs REDIS_URL (the solve jobs live in Redis)")
        if self.solver_concurrency < 1 or self.plan_job_heartbeat_s < 5 or self.plan_sweep_s < 1:
            raise ConfigError(
                "SOLVER_CONCURRENCY >= 1, PLAN_JOB_HEARTBEAT_S >= 5 and PLAN_SWEEP_S >= 1 please"
            )
        if self.is_production and self.plan_queue == "embedded" and self.web_concurrency > 1:
            raise ConfigError(
                "PLAN_QUEUE=embedded solves inside the web process that took the request; with "
                "WEB_CONCURRENCY > 1 set PLAN_QUEUE=saq and run `python -m backend solver-worker` processes"
            )

    @property
    def zns_enabled(self) -> bool:
        return bool(self.zns_app_id)

    def _validate_zns(self) -> None:
        """ZNS on needs all its secrets; production sends to Zalo's own addresses over HTTPS only."""
        from notifications.zns.templates import TemplateConfigError, parse

        if not self.zns_enabled:
            return
        try:
            parse(self.zns_templates)
        except TemplateConfigError as exc:
            raise ConfigError(str(exc)) from None
        if not (self.zns_secret_key and self.zns_oa_secret_key and self.zns_refresh_token):
            raise ConfigError(
                "ZNS_APP_ID is set: ZNS_SECRET_KEY, ZNS_OA_SECRET_KEY and ZNS_REFRESH_TOKEN are needed"
            )
        if self.is_production and not all(
            u.startswith("https://") for u in (self.zns_base_url, self.zns_oauth_url)
        ):
            raise ConfigError("ZNS_BASE_URL and ZNS_OAUTH_URL must be HTTPS in production")
        if self.is_production and self.zns_development:
            raise ConfigError(
                "ZNS_DEVELOPMENT (unapproved templates, OA admins only) may not be set in production"
            )

    def zns_template_ids(self) -> dict[str, str]:
        """ZNS_TEMPLATES as {notification kind: Zalo template id}."""
        pairs = (p.split("=", 1) for p in self.zns_templates.split(",") if "=" in p)
        return {k.strip(): v.strip() for k, v in pairs if k.strip() and v.strip()}

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
