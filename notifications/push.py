"""Push senders: Firebase Cloud Messaging through firebase-admin, or nothing when push is off.

A sender turns ``PushMessage``s (one per device token) into ``PushResult``s saying what the dispatcher
should do with each token: it got the message, it is dead (remove it), try again later, or give up.
Payloads carry ids and the rendered text only, no addresses or phone numbers: they transit Google's
and Apple's servers (personal data minimisation, Decree 13/2023/NĐ-CP).
"""

import asyncio
import base64
import email.utils
import hashlib
import logging
import re
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import firebase_admin
from firebase_admin import credentials, exceptions, messaging

log = logging.getLogger(__name__)

FCM_BATCH_LIMIT = 500  # firebase-admin refuses more messages in one send_each call
# firebase-admin 7.x marks Message.token deprecated in favour of Firebase installation ids (``fid``); the
# apps register FCM registration tokens (API contract), which the v1 API still takes as ``token``.
_TOKEN_DEPRECATION = r"Message\.token is deprecated"


@dataclass(frozen=True)
class PushMessage:
    token: str
    platform: str
    notification_id: uuid.UUID
    template: str
    title_vi: str
    body_vi: str
    title_en: str
    body_en: str
    deep_link: str | None
    collapse_key: str | None
    priority: str
    data_only: bool


class Outcome(StrEnum):
    sent = "sent"
    dead = "dead"  # the token will never work again: remove the target
    retry = "retry"  # transient: try this token again later
    fatal = "fatal"  # this message cannot be sent to this token; retrying will not help


@dataclass(frozen=True)
class PushResult:
    token: str
    outcome: Outcome
    message_id: str | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait


class PushSender(Protocol):
    enabled: bool

    async def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        """One result per message, in the same order."""
        ...

    async def aclose(self) -> None: ...


class NullSender:
    """Push is off (no credentials): the dispatcher marks rows ``skipped`` and they stay in the inbox."""

    enabled = False

    async def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        return [PushResult(m.token, Outcome.fatal, error="push is not configured") for m in messages]

    async def aclose(self) -> None:
        return None


# --- mapping FCM errors ------------------------------------------------------------------------------------

_DEAD = (messaging.UnregisteredError, messaging.SenderIdMismatchError)
_RETRY = (
    exceptions.ResourceExhaustedError,  # includes messaging.QuotaExceededError
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
    exceptions.UnknownError,  # transport failures the SDK could not classify
    exceptions.UnauthenticatedError,  # our OAuth token or the APNs/web push credentials; fixable by ops
)


def retry_after_seconds(exc: BaseException, *, now: datetime | None = None) -> float | None:
    """The ``Retry-After`` of the HTTP response behind a firebase-admin error, in seconds."""
    response = getattr(exc, "http_response", None)
    headers = getattr(response, "headers", None)
    raw = headers.get("Retry-After") if headers is not None else None
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(token: str, exc: BaseException) -> PushResult:
    """What one failed send means for this token."""
    error = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, _DEAD):
        return PushResult(token, Outcome.dead, error=error)
    if isinstance(exc, exceptions.InvalidArgumentError):
        # FCM answers INVALID_ARGUMENT both for a malformed token and for a malformed payload; only the
        # former is the token's fault (FCM docs, "Manage FCM registration tokens").
        if "token" in str(exc).lower():
            return PushResult(token, Outcome.dead, error=error)
        return PushResult(token, Outcome.fatal, error=error)
    if isinstance(exc, _RETRY):
        return PushResult(token, Outcome.retry, error=error, retry_after=retry_after_seconds(exc))
    return PushResult(token, Outcome.fatal, error=error)


# --- building FCM messages ---------------------------------------------------------------------------------

_TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def webpush_topic(collapse_key: str) -> str:
    """RFC 8030 ``Topic``: at most 32 URL-safe base64 characters, so longer keys are hashed."""
    if _TOPIC_RE.match(collapse_key):
        return collapse_key
    digest = hashlib.sha256(collapse_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def apns_collapse_id(collapse_key: str) -> str:
    """``apns-collapse-id`` may not exceed 64 bytes."""
    if len(collapse_key.encode()) <= 64:
        return collapse_key
    return hashlib.sha256(collapse_key.encode()).hexdigest()


def build_message(msg: PushMessage, *, link_base: str | None = None) -> messaging.Message:
    """The FCM v1 message for one token.

    Citizen-facing messages show a notification and carry the deep link in the data (all platforms hand
    data to the app on tap) and, for the web, as the click link. Collapse keys make a newer message replace
    an older one: ``collapse_key`` (Android, while the device is offline), notification ``tag`` (Android,
    on screen), ``apns-collapse-id`` (iOS) and ``Topic`` (web push). Messages without a collapse key use
    the notification id as the tag/collapse id, so a retried duplicate replaces itself on screen.
    Courier messages are data-only and high priority: the courier app wakes up and syncs.
    """
    high = msg.priority == "high"
    data = {
        "nid": str(msg.notification_id),
        "template": msg.template,
        "title_vi": msg.title_vi,
        "body_vi": msg.body_vi,
        "title_en": msg.title_en,
        "body_en": msg.body_en,
    }
    if msg.deep_link:
        data["link"] = msg.deep_link
    replace_key = msg.collapse_key or str(msg.notification_id)
    web_headers = {"Urgency": "high" if high else "normal", "Topic": webpush_topic(replace_key)}
    if msg.data_only:
        # Apple only accepts background (content-available) pushes with priority 5.
        apns = messaging.APNSConfig(
            headers={
                "apns-push-type": "background",
                "apns-priority": "5",
                "apns-collapse-id": apns_collapse_id(replace_key),
            },
            payload=messaging.APNSPayload(aps=messaging.Aps(content_available=True)),
        )
        return messaging.Message(
            token=msg.token,
            data=data,
            android=messaging.AndroidConfig(collapse_key=msg.collapse_key, priority="high"),
            apns=apns,
            webpush=messaging.WebpushConfig(headers=web_headers),
        )
    link = None
    if msg.deep_link and link_base and link_base.startswith("https://"):
        link = link_base.rstrip("/") + "/" + msg.deep_link.lstrip("/")
    return messaging.Message(
        token=msg.token,
        notification=messaging.Notification(title=msg.title_vi, body=msg.body_vi),
        data=data,
        android=messaging.AndroidConfig(
            collapse_key=msg.collapse_key,
            priority="high" if high else "normal",
            notification=messaging.AndroidNotification(tag=replace_key),
        ),
        apns=messaging.APNSConfig(
            headers={
                "apns-push-type": "alert",
                "apns-priority": "10" if high else "5",
                "apns-collapse-id": apns_collapse_id(replace_key),
            }
        ),
        webpush=messaging.WebpushConfig(
            headers=web_headers, fcm_options=messaging.WebpushFCMOptions(link=link) if link else None
        ),
    )


# --- the FCM sender ----------------------------------------------------------------------------------------


class FcmSender:
    """Sends through firebase-admin's public ``messaging.send_each_async`` (one HTTP/2 request per message,
    concurrently, on the SDK's own httpx client), at most 500 messages per call.

    Where the messages go is the SDK's business: ``https://fcm.googleapis.com``, with an OAuth token from the
    service account's ``token_uri`` (google-auth). An egress proxy in ``HTTPS_PROXY`` is honoured by the token
    fetch (requests) but not, in firebase-admin 7.7, by the HTTP/2 sends (README, Configuration). A private CA
    is trusted through ``SSL_CERT_FILE`` (httpx reads it); tests reach a local fake that way
    (``bench.fakes``).

    Retries happen at two levels. firebase-admin retries a 500 or 503 answer itself, up to four more times
    within ``send_each_async`` (after 0, 1, 2 and 4 s, ignoring ``Retry-After``), so one failing token can
    hold its batch (and the batch's lease, which the dispatcher's heartbeat keeps extending) for about 7 s.
    What is still failing after that, and every 429, comes back as ``Outcome.retry`` with the server's
    ``Retry-After``, and the outbox retries it later with its own backoff, which survives restarts.
    """

    enabled = True

    def __init__(
        self,
        credentials_path: str,
        *,
        project_id: str | None = None,
        link_base: str | None = None,
        http_timeout: float = 20.0,
        app_name: str | None = None,
    ) -> None:
        options: dict[str, Any] = {"httpTimeout": http_timeout}
        if project_id:
            options["projectId"] = project_id
        self.app = firebase_admin.initialize_app(
            credentials.Certificate(credentials_path),
            options,
            name=app_name or f"notifications-{uuid.uuid4().hex[:12]}",
        )
        self.link_base = link_base

    async def send(self, messages: Sequence[PushMessage]) -> list[PushResult]:
        results: list[PushResult] = []
        for start in range(0, len(messages), FCM_BATCH_LIMIT):
            results.extend(await self._send_batch(list(messages[start : start + FCM_BATCH_LIMIT])))
        return results

    async def _send_batch(self, batch: list[PushMessage]) -> list[PushResult]:
        built: list[messaging.Message | None] = []
        invalid: dict[int, PushResult] = {}
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_TOKEN_DEPRECATION, category=DeprecationWarning)
            for i, msg in enumerate(batch):
                try:
                    built.append(build_message(msg, link_base=self.link_base))
                except ValueError as exc:
                    built.append(None)
                    invalid[i] = PushResult(msg.token, Outcome.fatal, error=f"invalid message: {exc}"[:500])
        to_send = [m for m in built if m is not None]
        try:
            response = await messaging.send_each_async(to_send, app=self.app) if to_send else None
        except ValueError:
            # The SDK validates the whole list before sending anything; find the bad one(s) and send the rest.
            return await self._send_one_by_one(batch)
        except Exception as exc:
            log.warning("FCM batch of %d failed before sending: %s", len(to_send), exc)
            error = f"{type(exc).__name__}: {exc}"[:500]
            return [
                invalid.get(i) or PushResult(m.token, Outcome.retry, error=error) for i, m in enumerate(batch)
            ]
        answers = iter(response.responses if response else [])
        results: list[PushResult] = []
        for i, msg in enumerate(batch):
            if i in invalid:
                results.append(invalid[i])
                continue
            answer = next(answers)
            if answer.success:
                results.append(PushResult(msg.token, Outcome.sent, message_id=answer.message_id))
            else:
                results.append(classify(msg.token, answer.exception))
        return results

    async def _send_one_by_one(self, batch: list[PushMessage]) -> list[PushResult]:
        async def one(msg: PushMessage) -> PushResult:
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message=_TOKEN_DEPRECATION, category=DeprecationWarning)
                    built = build_message(msg, link_base=self.link_base)
                response = await messaging.send_each_async([built], app=self.app)
            except ValueError as exc:
                return PushResult(msg.token, Outcome.fatal, error=f"invalid message: {exc}"[:500])
            answer = response.responses[0]
            if answer.success:
                return PushResult(msg.token, Outcome.sent, message_id=answer.message_id)
            return classify(msg.token, answer.exception)

        return list(await asyncio.gather(*(one(m) for m in batch)))

    async def aclose(self) -> None:
        # delete_app closes the app's services, the FCM client's connections included, with asyncio.run(),
        # which cannot run inside our loop: hence the thread. The connection is then closed from that thread's
        # loop, which asyncio's debug mode reports as a non-thread-safe call (firebase-admin 7.7 offers no way
        # to close the client in the loop that opened it); outside debug mode it closes.
        await asyncio.to_thread(firebase_admin.delete_app, self.app)


def make_sender(
    credentials_path: str | None,
    *,
    project_id: str | None = None,
    link_base: str | None = None,
) -> PushSender:
    """``FcmSender`` when a service-account file is configured, else ``NullSender`` (push off). The caller
    passes its configuration (the backend from its settings: ``backend.notices.worker.sender_for``); this
    package reads no environment."""
    if not credentials_path:
        log.info("FIREBASE_CREDENTIALS not set: push notifications are off (inbox only)")
        return NullSender()
    return FcmSender(credentials_path, project_id=project_id or None, link_base=link_base)
