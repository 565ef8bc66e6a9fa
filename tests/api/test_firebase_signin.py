"""Citizens signing in with a Firebase ID token: firebase-admin's public ``verify_id_token`` checks it for real.

google-auth fetches the signing certificates from Google's own URL over requests; ``HTTPS_PROXY`` names a
loopback CONNECT proxy that tunnels www.googleapis.com to a local TLS server (a certificate from a test CA
the process trusts through ``REQUESTS_CA_BUNDLE``) serving this module's certificate. Nothing in the app or
the SDK is redirected.
"""

import contextlib
import datetime as dt
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bench.fakes.proxy import ConnectProxy
from bench.fakes.tlsca import TestCA

PROJECT = "hoso-test-project"
KID = "test-key-1"


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


CERTS_HOST = "www.googleapis.com"
CERTS_PATH = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"


@pytest.fixture(scope="module")
def google_certs(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[tuple[rsa.RSAPrivateKey, ConnectProxy]]:
    """The key whose certificate Google's (local) certificate endpoint serves, and the proxy in front of it."""
    key, cert = _key_and_cert()
    body = json.dumps({KID: cert}).encode()

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != CERTS_PATH:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    ca = TestCA()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    tls: ssl.SSLContext = ca.server_context(CERTS_HOST)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    proxy = ConnectProxy({f"{CERTS_HOST}:443": server.server_port}).start()
    for name, value in proxy.env(str(ca.bundle)).items():
        monkeypatch_module.setenv(name, value)
    from backend.settings import get_settings

    monkeypatch_module.setenv("FIREBASE_PROJECT_ID", PROJECT)
    get_settings.cache_clear()
    yield key, proxy
    proxy.stop()
    server.shutdown()
    get_settings.cache_clear()
    import firebase_admin

    from backend.accounts.firebase import APP_NAME

    with contextlib.suppress(ValueError):
        firebase_admin.delete_app(firebase_admin.get_app(APP_NAME))


@pytest.fixture(scope="module")
def signing_key(google_certs: tuple[rsa.RSAPrivateKey, ConnectProxy]) -> rsa.RSAPrivateKey:
    return google_certs[0]


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _id_token(
    key: rsa.RSAPrivateKey,
    phone: str | None,
    *,
    project: str = PROJECT,
    audience: str | None = None,
    kid: str = KID,
    age_s: int = 10,
) -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": audience or project,
        "auth_time": now - age_s,
        "sub": uuid.uuid4().hex,
        "iat": now - age_s,
        "exp": now - age_s + 3600,
        "firebase": {"sign_in_provider": "phone"},
    }
    if phone:
        claims["phone_number"] = phone
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_valid_firebase_token_signs_the_citizen_in(
    client: httpx.AsyncClient, google_certs: tuple[rsa.RSAPrivateKey, ConnectProxy]
) -> None:
    signing_key, proxy = google_certs
    r = await client.post("/api/v1/auth/firebase", json={"id_token": _id_token(signing_key, "+84912000111")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["role"] == "citizen" and body["user"]["phone"] == "+84912000111"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["phone"] == "+84912000111"
    # The certificates came from Google's own address, through the proxy.
    assert f"{CERTS_HOST}:443" in proxy.tunnels and proxy.refused == []


async def test_forged_or_foreign_tokens_are_refused(
    client: httpx.AsyncClient, signing_key: rsa.RSAPrivateKey
) -> None:
    other_key, _ = _key_and_cert()
    forged = await client.post(
        "/api/v1/auth/firebase", json={"id_token": _id_token(other_key, "+84912000112")}
    )
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    unknown_kid = await client.post(
        "/api/v1/auth/firebase", json={"id_token": _id_token(other_key, "+84912000112", kid="other")}
    )
    assert unknown_kid.status_code == 401
    expired = await client.post(
        "/api/v1/auth/firebase", json={"id_token": _id_token(signing_key, "+84912000114", age_s=3700)}
    )
    assert expired.status_code == 401
    wrong_audience = await client.post(
        "/api/v1/auth/firebase",
        json={"id_token": _id_token(signing_key, "+84912000115", audience="someone-else")},
    )
    assert wrong_audience.status_code == 401
    foreign = await client.post(
        "/api/v1/auth/firebase",
        json={"id_token": _id_token(signing_key, "+84912000113", project="someone-else")},
    )
    assert foreign.status_code == 401
    no_phone = await client.post("/api/v1/auth/firebase", json={"id_token": _id_token(signing_key, None)})
    assert no_phone.status_code == 422
    garbage = await client.post("/api/v1/auth/firebase", json={"id_token": "x" * 40})
    assert garbage.status_code == 401
