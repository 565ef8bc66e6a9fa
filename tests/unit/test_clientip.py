"""The client's address for rate limits: X-Forwarded-For only from trusted proxies, right-most untrusted hop."""

import os
import subprocess
import sys

import httpx
import pytest

from backend.lib.clientip import UNKNOWN, client_ip, parse_address, parse_networks
from backend.settings import ConfigError, Settings
from tests.unit import test_server

PROXIES = parse_networks("10.0.0.0/8, 192.0.2.1, ::1")


def test_no_trusted_proxies_means_the_peer_whatever_the_header_says() -> None:
    assert client_ip("127.0.0.1", ["6.6.6.6"], ()) == "127.0.0.1"
    assert client_ip("203.0.113.9", ["6.6.6.6, 10.0.0.1"], PROXIES) == "203.0.113.9"


def test_behind_trusted_proxies_the_right_most_untrusted_hop() -> None:
    assert client_ip("10.1.2.3", ["198.51.100.4"], PROXIES) == "198.51.100.4"
    # The client may forge anything left of what the proxy appended.
    assert client_ip("10.1.2.3", ["1.1.1.1, 2.2.2.2, 198.51.100.4"], PROXIES) == "198.51.100.4"
    # Several trusted hops, the header split over several lines.
    assert client_ip("192.0.2.1", ["1.1.1.1, 198.51.100.4", "10.9.9.9"], PROXIES) == "198.51.100.4"


def test_only_trusted_hops_or_no_header_give_the_nearest_trusted_address() -> None:
    assert client_ip("10.1.2.3", [], PROXIES) == "10.1.2.3"
    assert client_ip("10.1.2.3", ["10.4.4.4"], PROXIES) == "10.4.4.4"


def test_a_broken_hop_ends_the_walk() -> None:
    assert client_ip("10.1.2.3", ["198.51.100.4, garbage"], PROXIES) == "10.1.2.3"
    assert client_ip("10.1.2.3", ["garbage, 10.2.2.2"], PROXIES) == "10.2.2.2"
    assert client_ip(None, ["198.51.100.4"], PROXIES) == UNKNOWN


def test_addresses_as_proxies_write_them() -> None:
    assert str(parse_address("198.51.100.4:5678")) == "198.51.100.4"
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert str(parse_address("2001:db8::1")) == "2001:db8::1"
    assert str(parse_address("::ffff:10.0.0.1")) == "10.0.0.1"  # IPv4-mapped: the IPv4 rules apply
    assert parse_address("unknown") is None
    assert client_ip("::1", ["[2001:db8::7]:1234"], PROXIES) == "2001:db8::7"


def test_the_setting_is_checked_at_start() -> None:
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match="nope"):
        parse_networks("10.0.0.1, nope")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        Settings(env="test", trusted_proxies="10.0.0.0/8,not-an-ip").validate()
    with pytest.raises(ConfigError, match="AUTH_ACCOUNT_RATE_PER_HOUR"):
        Settings(env="test", auth_account_rate_per_hour=0).validate()


@pytest.fixture(scope="module")
def served_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('clientip') / 'serve.db'}"
    env = {**os.environ, "APP_ENV": "test"}
    subprocess.run(
        [sys.executable, "-c", test_server.SEED, url],
        cwd=test_server.ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return url


def test_the_real_server_hands_the_app_the_tcp_peer(served_database: str) -> None:
    """Granian (``python -m backend serve``) does not rewrite the client from X-Forwarded-For (uvicorn did, for
    any loopback peer): forged headers from 127.0.0.1 all land in the peer's one bucket."""
    limits = {"AUTH_RATE_PER_MINUTE": "2", "AUTH_ACCOUNT_RATE_PER_HOUR": "1000"}
    with test_server._serving(served_database, **limits) as (_, port):
        statuses = [
            httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/staff/login",
                json={"username": "admin", "password": "wrong"},
                headers={"X-Forwarded-For": f"198.51.100.{n}", "Forwarded": f"for=198.51.100.{n}"},
                timeout=10,
            ).status_code
            for n in range(3)
        ]
    assert statuses == [401, 401, 429]
