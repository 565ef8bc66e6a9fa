"""Exchange of a Firebase ID token (phone sign-in in the citizens' app) for our own token.

firebase-admin's public ``auth.verify_id_token`` checks the token's signature against Google's public
certificates, which google-auth fetches over requests from www.googleapis.com: an egress proxy is given the
standard way (``HTTPS_PROXY``), and tests serve the certificates locally through such a proxy
(tests/api/test_firebase_signin.py). Nothing redirects the fetch: certificates from anywhere but Google's would
let their holder mint citizens' sign-ins.
"""

import asyncio
from typing import Any

import firebase_admin
from firebase_admin import auth as fb_auth
from firebase_admin import credentials

from backend.lib.problems import Problem
from backend.settings import Settings

APP_NAME = "hoso-auth"


class _NoCredential(credentials.Base):
    """Verifying ID tokens needs only Google's public certificates and the project id, no service account."""

    def get_credential(self) -> Any:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()


def _app(settings: Settings) -> firebase_admin.App:
    try:
        return firebase_admin.get_app(APP_NAME)
    except ValueError:
        pass
    options = {"projectId": settings.firebase_project_id} if settings.firebase_project_id else None
    if not settings.firebase_credentials and not options:
        raise Problem(
            503,
            "Đăng nhập Firebase chưa được cấu hình / Firebase sign-in is not configured",
            code="firebase_not_configured",
        )
    cred: Any = (
        credentials.Certificate(settings.firebase_credentials)
        if settings.firebase_credentials
        else _NoCredential()
    )
    return firebase_admin.initialize_app(cred, options=options, name=APP_NAME)


async def verified_phone(settings: Settings, id_token: str) -> str:
    """The phone number of a verified Firebase ID token; 401 for any invalid token."""
    app = _app(settings)
    try:
        claims = await asyncio.to_thread(fb_auth.verify_id_token, id_token, app)
    except (
        ValueError,
        fb_auth.InvalidIdTokenError,
        fb_auth.ExpiredIdTokenError,
        fb_auth.RevokedIdTokenError,
    ) as exc:
        raise Problem(
            401, "Mã Firebase không hợp lệ / Invalid Firebase ID token", code="firebase_invalid"
        ) from exc
    except fb_auth.CertificateFetchError as exc:
        raise Problem(
            503, "Không kiểm tra được mã Firebase / Cannot verify now", code="firebase_unavailable"
        ) from exc
    phone = claims.get("phone_number")
    if not phone:
        raise Problem(
            422, "Tài khoản Firebase không có số điện thoại / Token has no phone number", code="no_phone"
        )
    return str(phone)
