"""A fake Firebase Cloud Messaging server on 127.0.0.1 for tests and the benchmark.

It answers what firebase-admin talks to:
- the OAuth token endpoint (``POST /token``): google-auth posts a JWT signed with the service account's
  private key; the fake checks the signature and audience and hands out a bearer token;
- ``POST /v1/projects/{project}/messages:send``: checks the bearer token, records the request body, and
  answers per token as scripted: success, ``UNREGISTERED`` (404), ``QUOTA_EXCEEDED`` (429 + Retry-After),
  ``UNAVAILABLE`` (503), ``INTERNAL`` (500), ``INVALID_ARGUMENT`` (400), ``SENDER_ID_MISMATCH`` (403), or
  no answer at all (``HANG``, to freeze a worker mid-batch); ``outage`` answers every token with ``INTERNAL``
  (500) and ``QUOTA_EXCEEDED`` (429 + Retry-After) in turn for a while (the provider drill).

It runs in its own thread: a plain HTTP/1.1 keep-alive listener on 127.0.0.1 (the token endpoint, which the
service account's ``token_uri`` names), and a TLS listener for ``fcm.googleapis.com`` speaking HTTP/2 (ALPN
``h2``, HTTP/1.1 for clients without it) like the real endpoint, with a certificate signed by a
``bench.fakes.tlsca.TestCA``. Clients reach it at Google's own URL through ``bench.fakes.proxy.ConnectProxy``
(``routes`` is what the proxy needs).
"""

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bench.fakes.loopthread import stop_loop_thread
from bench.fakes.tlsca import TestCA

FCM_HOST = "fcm.googleapis.com"
SEND_SUFFIX = "/messages:send"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
CLOUD_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@dataclass(frozen=True)
class Reply:
    kind: str  # ok | unregistered | quota | unavailable | internal | invalid_token | sender_mismatch | hang
    retry_after: int | None = None


OK = Reply("ok")
UNREGISTERED = Reply("unregistered")
UNAVAILABLE = Reply("unavailable")
INTERNAL = Reply("internal")
INVALID_TOKEN = Reply("invalid_token")
INVALID_PAYLOAD = Reply("invalid_payload")
SENDER_MISMATCH = Reply("sender_mismatch")
HANG = Reply("hang")


def QUOTA(retry_after: int | None = 120) -> Reply:
    return Reply("quota", retry_after)


@dataclass
class Recorded:
    """One send request as FCM would have received it."""

    seq: int
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    reply: str
    protocol: str = "HTTP/1.1"
    status: int | None = None  # None: never answered (HANG)
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def message(self) -> dict[str, Any]:
        return dict(self.body.get("message", {}))

    @property
    def token(self) -> str:
        return str(self.message.get("token", ""))

    @property
    def nid(self) -> str:
        return str(self.message.get("data", {}).get("nid", ""))

    @property
    def acknowledged(self) -> bool:
        return self.status == 200


def _fcm_error(code: int, status: str, message: str, fcm_code: str | None) -> dict[str, Any]:
    details = (
        [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": fcm_code}]
        if fcm_code
        else []
    )
    return {"error": {"code": code, "message": message, "status": status, "details": details}}


_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "unregistered": (404, _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")),
    "quota": (429, _fcm_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for the device.", "QUOTA_EXCEEDED")),
    "unavailable": (
        503,
        _fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
    ),
    "internal": (500, _fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL")),
    "invalid_token": (
        400,
        _fcm_error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            "INVALID_ARGUMENT",
        ),
    ),
    "invalid_payload": (
        400,
        _fcm_error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data[0].value'", "INVALID_ARGUMENT"),
    ),
    "sender_mismatch": (
        403,
        _fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"),
    ),
}

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
_REASONS |= {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class _Script:
    replies: list[Reply] = field(default_factory=list)

    def next(self) -> Reply:
        # Replies are used in order; the last one sticks.
        if len(self.replies) > 1:
            return self.replies.pop(0)
        return self.replies[0] if self.replies else OK


class FakeFcm:
    def __init__(
        self,
        project_id: str = "fake-project",
        *,
        delay: float = 0.0,
        record_bodies: bool = True,
        ca: TestCA | None = None,
        uvloop: bool = False,
    ) -> None:
        self.project_id = project_id
        self.use_uvloop = uvloop  # benchmarks: the fake must not be the bottleneck it measures
        self.ca = ca or TestCA()
        self.tls_port = 0
        self._tls_server: asyncio.Server | None = None
        self.delay = delay
        self.record_bodies = record_bodies
        self._lock = threading.Lock()
        self._scripts: dict[str, _Script] = {}
        self._requests: list[Recorded] = []
        self._acked = 0
        self._hang_after: int | None = None
        self._down_until = 0.0
        self._down_retry_after = 5
        self._down_answers = 0
        self._access_tokens: set[str] = set()
        self.token_requests = 0
        self.rejected_auth = 0
        self._public_pem: bytes | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._release: asyncio.Event | None = None
        self.port = 0

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> "FakeFcm":
        ready = threading.Event()

        def run() -> None:
            loop: asyncio.AbstractEventLoop
            if self.use_uvloop:
                import uvloop

                loop = uvloop.new_event_loop()
            else:
                loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def boot() -> None:
                self._release = asyncio.Event()
                self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
                self.port = self._server.sockets[0].getsockname()[1]
                tls = self.ca.server_context(FCM_HOST, alpn=("h2", "http/1.1"))  # like fcm.googleapis.com
                self._tls_server = await asyncio.start_server(
                    self._handle_tls, "127.0.0.1", 0, ssl=tls, backlog=1024
                )
                self.tls_port = self._tls_server.sockets[0].getsockname()[1]

            loop.run_until_complete(boot())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-fcm", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake FCM server did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return

        server, release, tls_server = self._server, self._release, self._tls_server
        assert server is not None and release is not None

        def close() -> None:
            release.set()
            server.close()
            if tls_server is not None:
                tls_server.close()

        stop_loop_thread(loop, self._thread, close)
        self._loop = None

    def __enter__(self) -> "FakeFcm":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def routes(self) -> dict[str, int]:
        """What a ``ConnectProxy`` tunnels to this fake: FCM's host to the TLS listener."""
        return {f"{FCM_HOST}:443": self.tls_port}

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    # --- scripting ------------------------------------------------------------------------------------------

    def script(self, token: str, *replies: Reply) -> None:
        """Answer ``token``'s requests with ``replies`` in order (the last one repeats)."""
        with self._lock:
            self._scripts[token] = _Script(list(replies))

    def outage(self, seconds: float, retry_after: int = 5) -> None:
        """For ``seconds`` from now answer every send with ``INTERNAL`` (500), then ``QUOTA_EXCEEDED`` (429 with
        ``Retry-After``), in turn, whatever the scripts say."""
        with self._lock:
            self._down_retry_after = retry_after
            self._down_until = time.monotonic() + seconds

    def _outage_reply(self) -> Reply | None:
        # Called with the lock held.
        if time.monotonic() >= self._down_until:
            return None
        self._down_answers += 1
        return QUOTA(self._down_retry_after) if self._down_answers % 2 == 0 else INTERNAL

    def hang_after(self, acknowledged: int | None) -> None:
        """After this many successful sends, leave every further send request unanswered."""
        with self._lock:
            self._hang_after = acknowledged

    def release_hung(self) -> None:
        """Stop hanging; requests left hanging are dropped unanswered (never acknowledged)."""
        with self._lock:
            self._hang_after = None
        if self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._renew_release(), self._loop).result(10)

    async def _renew_release(self) -> None:
        # Wake the requests hung so far; later HANG replies wait on a fresh event.
        if self._release is not None:
            self._release.set()
        self._release = asyncio.Event()

    def write_service_account(self, directory: Path) -> Path:
        """A service-account JSON with a fresh RSA key whose ``token_uri`` points at this server."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        info = {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": uuid.uuid4().hex,
            "private_key": pem,
            "client_email": f"fcm-sender@{self.project_id}.iam.gserviceaccount.com",
            "client_id": "100000000000000000000",
            "auth_uri": f"{self.base_url}/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": f"{self.base_url}/certs",
            "client_x509_cert_url": f"{self.base_url}/certs/fcm-sender",
        }
        path = Path(directory) / f"service-account-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(info))
        return path

    # --- what was received ----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def for_token(self, token: str) -> list[Recorded]:
        return [r for r in self.requests if r.token == token]

    def acknowledged(self) -> list[Recorded]:
        return [r for r in self.requests if r.acknowledged]

    def acknowledged_pairs(self) -> Counter[tuple[str, str]]:
        """How many times each (notification id, token) was accepted."""
        return Counter((r.nid, r.token) for r in self.acknowledged())

    def pending_hung(self) -> int:
        with self._lock:
            return sum(1 for r in self._requests if r.reply == "hang" and r.status is None)

    @property
    def acked_count(self) -> int:
        with self._lock:
            return self._acked

    def clear(self) -> None:
        self.release_hung()
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
            self._acked = 0
            self.token_requests = 0
            self.rejected_auth = 0

    # --- HTTP -----------------------------------------------------------------------------------------------

    async def _handle_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None and ssl_object.selected_alpn_protocol() == "h2":
            await _H2Session(self, writer).serve(reader)
        else:
            await self._handle(reader, writer)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                answer = await self._route(method, path, headers, body)
                if answer is None:  # hang: never answer, drop the connection once released
                    return
                status, payload, extra = answer
                data = json.dumps(payload).encode()
                out = [
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                    "Content-Type: application/json",
                ]
                out += [f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in extra.items())]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes, protocol: str = "HTTP/1.1"
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        if method == "POST" and path == "/token":
            return self._token(body)
        if method == "POST" and path.startswith("/v1/projects/") and path.endswith(SEND_SUFFIX):
            return await self._send(path, headers, body, protocol)
        return (
            404,
            {"error": {"code": 404, "message": f"no route {method} {path}", "status": "NOT_FOUND"}},
            {},
        )

    def _token(self, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        assertion = form.get("assertion", "")
        if (
            form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer"
            or self._public_pem is None
        ):
            return 400, {"error": "unsupported_grant_type"}, {}
        try:
            # google-auth always addresses the assertion to Google's token endpoint, whatever token_uri says.
            claims = jwt.decode(
                assertion, self._public_pem, algorithms=["RS256"], audience=GOOGLE_TOKEN_AUDIENCE
            )
        except jwt.PyJWTError as exc:
            return 400, {"error": "invalid_grant", "error_description": str(exc)}, {}
        scopes = set(str(claims.get("scope", "")).split())
        if not scopes & {FCM_SCOPE, CLOUD_SCOPE}:  # what FCM's v1 API accepts
            return 400, {"error": "invalid_scope", "error_description": claims.get("scope")}, {}
        access = f"ya29.fake-{uuid.uuid4().hex}"
        with self._lock:
            self.token_requests += 1
            self._access_tokens.add(access)
        return 200, {"access_token": access, "expires_in": 3600, "token_type": "Bearer"}, {}

    async def _send(
        self, path: str, headers: dict[str, str], body: bytes, protocol: str
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self._access_tokens:
            with self._lock:
                self.rejected_auth += 1
            return (
                401,
                _fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", None),
                {},
            )
        parsed = json.loads(body)
        token = str(parsed.get("message", {}).get("token", ""))
        with self._lock:
            hanging = self._hang_after is not None and self._acked >= self._hang_after
            reply = HANG if hanging else self._outage_reply() or self._scripts.get(token, _Script()).next()
            rec = Recorded(
                seq=len(self._requests),
                path=path,
                headers=headers if self.record_bodies else {},
                body=parsed
                if self.record_bodies
                else {"message": {"token": token, "data": _nid_only(parsed)}},
                reply=reply.kind,
                protocol=protocol,
            )
            self._requests.append(rec)
        if reply.kind == "hang":
            assert self._release is not None
            await self._release.wait()
            return None
        if self.delay:
            await asyncio.sleep(self.delay)
        if reply.kind == "ok":
            with self._lock:
                self._acked += 1
                rec.status = 200
            return 200, {"name": f"projects/{self.project_id}/messages/{rec.seq}"}, {}
        status, payload = _ERRORS[reply.kind]
        extra = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
        with self._lock:
            rec.status = status
        return status, payload, extra


def _nid_only(parsed: dict[str, Any]) -> dict[str, str]:
    nid = parsed.get("message", {}).get("data", {}).get("nid")
    return {"nid": nid} if nid else {}


class _H2Session:
    """HTTP/2 server side of one connection; each request stream is answered by its own task."""

    def __init__(self, fake: FakeFcm, writer: asyncio.StreamWriter) -> None:
        self.fake = fake
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        )
        self.transport: asyncio.StreamWriter | None = writer
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.conn.initiate_connection()
        self._flush()

    async def serve(self, reader: asyncio.StreamReader) -> None:
        try:
            while data := await reader.read(65536):
                if not self.data_received(data):
                    return
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            if self.transport is not None:
                self.transport.close()
            self.transport = None

    def data_received(self, data: bytes) -> bool:
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            return False
        for ev in events:
            if isinstance(ev, h2.events.RequestReceived):
                self.streams[ev.stream_id] = ({str(k): str(v) for k, v in ev.headers}, bytearray())
            elif isinstance(ev, h2.events.DataReceived):
                self.streams[ev.stream_id][1].extend(ev.data)
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                head, body = self.streams.pop(ev.stream_id)
                task = asyncio.ensure_future(self._answer(ev.stream_id, head, bytes(body)))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        self._flush()
        return True

    def _flush(self) -> None:
        out = self.conn.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)

    async def _answer(self, stream_id: int, head: dict[str, str], body: bytes) -> None:
        headers = {k.lower(): v for k, v in head.items() if not k.startswith(":")}
        answer = await self.fake._route(
            head.get(":method", ""), head.get(":path", ""), headers, body, "HTTP/2"
        )
        if self.transport is None:
            return
        if answer is None:  # a hung request, now released: drop it unanswered
            self.conn.reset_stream(stream_id)
            self._flush()
            return
        status, payload, extra = answer
        data = json.dumps(payload).encode()
        response = [
            (":status", str(status)),
            ("content-type", "application/json"),
            ("content-length", str(len(data))),
        ]
        response += [(k.lower(), v) for k, v in extra.items()]
        try:
            self.conn.send_headers(stream_id, response)
            self.conn.send_data(stream_id, data, end_stream=True)
        except h2.exceptions.H2Error:
            return  # the client reset the stream
        self._flush()
