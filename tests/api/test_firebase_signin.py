"""Citizens signing in with a Firebase ID token: firebase-admin verifies it for real, against certificates
served by a loopback server standing in for Google's x509 endpoint."""

import contextlib
import datetime as dt
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

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


@pytest.fixture(scope="module")
def signing_key(monkeypatch_module: pytest.MonkeyPatch) -> Iterator[rsa.RSAPrivateKey]:
    key, cert = _key_and_cert()
    body = json.dumps({KID: cert}).encode()

    class Certs(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=3600")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch_module.setenv("FIREBASE_ID_TOKEN_CERT_URL", f"http://127.0.0.1:{server.server_port}/certs")
    from backend.settings import get_settings

    get_settings.cache_clear()
    monkeypatch_module.setenv("FIREBASE_PROJECT_ID", PROJECT)
    get_settings.cache_clear()
    yield key
    server.shutdown()
    get_settings.cache_clear()
    import firebase_admin

    from backend.accounts.firebase import APP_NAME

    with contextlib.suppress(ValueError):
        firebase_admin.delete_app(firebase_admin.get_app(APP_NAME))


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _id_token(key: rsa.RSAPrivateKey, phone: str | None, *, project: str = PROJECT, kid: str = KID) -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": f"https://securetoken.google.com/{project}",
        "aud": project,
        "auth_time": now - 10,
        "sub": uuid.uuid4().hex,
        "iat": now - 10,
        "exp": now + 3600,
        "firebase": {"sign_in_provider": "phone"},
    }
    if phone:
        claims["phone_number"] = phone
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_valid_firebase_token_signs_the_citizen_in(
    client: httpx.AsyncClient, signing_key: rsa.RSAPrivateKey
) -> None:
    r = await client.post("/api/v1/auth/firebase", json={"id_token": _id_token(signing_key, "+84912000111")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["role"] == "citizen" and body["user"]["phone"] == "+84912000111"
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["phone"] == "+84912000111"


async def test_forged_or_foreign_tokens_are_refused(
    client: httpx.AsyncClient, signing_key: rsa.RSAPrivateKey
) -> None:
    other_key, _ = _key_and_cert()
    forged = await client.post(
        "/api/v1/auth/firebase", json={"id_token": _id_token(other_key, "+84912000112")}
    )
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    foreign = await client.post(
        "/api/v1/auth/firebase",
        json={"id_token": _id_token(signing_key, "+84912000113", project="someone-else")},
    )
    assert foreign.status_code == 401
    no_phone = await client.post("/api/v1/auth/firebase", json={"id_token": _id_token(signing_key, None)})
    assert no_phone.status_code == 422
    garbage = await client.post("/api/v1/auth/firebase", json={"id_token": "x" * 40})
    assert garbage.status_code == 401
