"""Signatures (Standard Webhooks 1.0) and the SSRF guard, without a database."""

import pytest

from backend.partners import signing
from backend.partners.urls import RefusedUrl, check_url


def test_signature_verifies_and_a_tampered_body_or_id_does_not() -> None:
    secret = signing.new_secret()
    body = b'{"id":"e1","type":"dossier.status_changed","data":{"status":"at_desk"}}'
    h = signing.headers(secret, "e1", 1796440200, body)
    assert h["Webhook-Signature"].startswith("v1,")
    assert signing.verify(secret, "e1", "1796440200", body, h["Webhook-Signature"])
    assert not signing.verify(
        secret, "e1", "1796440200", body.replace(b"at_desk", b"decided"), h["Webhook-Signature"]
    )
    assert not signing.verify(secret, "e2", "1796440200", body, h["Webhook-Signature"])
    assert not signing.verify(secret, "e1", "1796440201", body, h["Webhook-Signature"])
    assert not signing.verify(signing.new_secret(), "e1", "1796440200", body, h["Webhook-Signature"])
    # Several signatures (a receiver during a rotation): one match is enough.
    assert signing.verify(secret, "e1", "1796440200", body, "v1,AAAA " + h["Webhook-Signature"])


def test_signature_matches_the_standard_webhooks_test_vector() -> None:
    """The example of the Standard Webhooks specification, so partners' libraries agree with ours."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://localhost/hook",
        "https://100.64.0.1/hook",
        "http://203.113.131.7/hook",
        "http://localhost:8080/hook",
        "https://user:pw@203.113.131.7/hook",
        "ftp://203.113.131.7/hook",
        "https:///nohost",
    ],
)
def test_production_refuses_private_and_plain_addresses(url: str) -> None:
    with pytest.raises(RefusedUrl):
        check_url(url, production=True)


def test_production_takes_https_to_a_public_address() -> None:
    assert (
        check_url("https://203.113.131.7/hooks/buudien", production=True)
        == "https://203.113.131.7/hooks/buudien"
    )


def test_outside_production_plain_http_only_to_localhost() -> None:
    assert check_url("http://127.0.0.1:9000/h", production=False)
    assert check_url("http://localhost:9000/h", production=False)
    for url in ("http://10.0.0.5/h", "http://203.113.131.7/h", "http://127.0.0.1.nip.io/h"):
        with pytest.raises(RefusedUrl):
            check_url(url, production=False)
