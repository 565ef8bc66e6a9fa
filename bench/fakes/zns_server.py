"""A fake Zalo (ZNS OpenAPI + OA OAuth v4) on 127.0.0.1 for tests and benchmarks, speaking the documented API
(``notifications/zns/client.py`` and ``tokens.py`` name the documents).

- ``POST /v4/oa/access_token`` (form ``app_id``, ``grant_type=refresh_token``, ``refresh_token``; header
  ``secret_key``): answers a new access token and a NEW refresh token; the refresh token spent is refused from
  then on (error -14014), as Zalo's single-use refresh tokens are. ``refreshes`` counts the calls that got one.
- ``POST /message/template`` (header ``access_token``; JSON ``phone``, ``template_id``, ``template_data``,
  ``tracking_id``): checks the access token (-124 when unknown or expired by ``expire_access_tokens``), the phone
  (84 + 9 digits, else -108), the template (-109 unknown, -131 not approved), the parameters (-112 when one the
  template declares is missing), blocked users (-114); records the message and answers ``{"error": 0, "data":
  {"msg_id": ...}}``.
- ``script``: answers given first instead, one per send request: ``(HTTP status, headers, JSON body or None)``.
  ``down_until``: before this monotonic time every request gets HTTP 500 (``down_for``); with
  ``down_retry_after`` set, send requests get 500 and 429 with that ``Retry-After`` in turn (``outage``).
  ``hits`` records every send request's arrival (monotonic time, HTTP status, tracking id).
- ``event``: a signed webhook event (``X-ZEvent-Signature``) for a recorded message, to post to the service;
  ``post_event`` posts it over HTTP.
"""

import hashlib
import json
import re
import socket
import threading
import time
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

OAUTH_PATH = "/v4/oa/access_token"
SEND_PATH = "/message/template"


@dataclass
class Sent:
    msg_id: str
    phone: str
    template_id: str
    template_data: dict[str, str]
    tracking_id: str | None


@dataclass
class FakeZalo:
    app_id: str = "1234567890123456789"
    app_secret: str = "zalo-app-secret"
    oa_secret: str = "zalo-oa-secret-key"
    refresh_token: str = field(default_factory=lambda: "rt-" + uuid.uuid4().hex)
    expires_in: str = "90000"
    # template id -> the parameters it declares; ``pending`` ones are not approved yet
    templates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)  # phones (84…) whose users refuse ZNS
    sent: list[Sent] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str], dict[str, Any] | None]] = field(default_factory=deque)
    down_until: float = 0.0
    down_retry_after: int | None = None
    hits: list[tuple[float, int, str]] = field(default_factory=list)  # (monotonic time, status, tracking id)
    refreshes: int = 0
    refused: int = 0  # refresh requests with a refresh token that is not (or no longer) valid
    refresh_delay_s: float = 0.0  # how long Zalo takes to answer a refresh (widens races in tests)
    _access: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def down_for(self, seconds: float) -> None:
        self.down_until = time.monotonic() + seconds

    def outage(self, seconds: float, retry_after: int = 5) -> None:
        """For ``seconds`` from now answer every send with HTTP 500, then 429 with ``Retry-After``, in turn."""
        self.down_retry_after = retry_after
        self.down_for(seconds)

    def expire_access_tokens(self) -> None:
        with self._lock:
            self._access.clear()

    def oauth(self, headers: Any, form: dict[str, str]) -> dict[str, Any]:
        if headers.get("secret_key") != self.app_secret or form.get("app_id") != self.app_id:
            return {"error": -14002, "error_name": "Invalid app", "error_description": "app_id or secret_key"}
        if form.get("grant_type") != "refresh_token":
            return {"error": -14003, "error_name": "Invalid grant_type"}
        time.sleep(self.refresh_delay_s)
        with self._lock:
            if form.get("refresh_token") != self.refresh_token:
                self.refused += 1
                return {"error": -14014, "error_name": "Invalid refresh_token", "error_description": "used"}
            self.refresh_token = "rt-" + uuid.uuid4().hex
            access = "at-" + uuid.uuid4().hex
            self._access.add(access)
            self.refreshes += 1
            return {
                "access_token": access,
                "refresh_token": self.refresh_token,
                "expires_in": self.expires_in,
            }

    def send(self, access_token: str | None, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if access_token not in self._access:
                return {"error": -124, "message": "Access token invalid"}
        phone, template_id = str(body.get("phone", "")), str(body.get("template_id", ""))
        data = body.get("template_data")
        if not re.fullmatch(r"84\d{9}", phone):
            return {"error": -108, "message": "Phone number invalid"}
        if template_id not in self.templates:
            return {"error": -109, "message": "Template ID invalid"}
        if template_id in self.pending:
            return {"error": -131, "message": "Template not approved"}
        if not isinstance(data, dict) or any(p not in data for p in self.templates[template_id]):
            return {"error": -112, "message": "Template data invalid"}
        if phone in self.blocked:
            return {"error": -114, "message": "User is inactive, or reject the message"}
        msg_id = uuid.uuid4().hex
        with self._lock:
            self.sent.append(Sent(msg_id, phone, template_id, dict(data), body.get("tracking_id")))
        return {"error": 0, "message": "Success", "data": {"msg_id": msg_id, "sent_time": str(_ms())}}

    def event(
        self, sent: Sent, name: str = "user_received_message", *, at_ms: int | None = None, secret: str = ""
    ) -> tuple[bytes, dict[str, str]]:
        """A webhook event about ``sent`` as Zalo posts it: the raw body and the signature header."""
        at = at_ms if at_ms is not None else _ms()
        message: dict[str, Any] = {"msg_id": sent.msg_id, "tracking_id": sent.tracking_id}
        if name == "user_received_message":
            message["delivery_time"] = str(at)
        else:
            message = {"msg_ids": [sent.msg_id]}
        event = {
            "app_id": self.app_id,
            "event_name": name,
            "sender": {"id": "oa-579745863508352884"},
            "recipient": {"id": "user-" + sent.phone[-4:]},
            "message": message,
            "timestamp": str(at),
        }
        body = json.dumps(event).encode()
        mac = hashlib.sha256(
            self.app_id.encode() + body + str(at).encode() + (secret or self.oa_secret).encode()
        ).hexdigest()
        return body, {"X-ZEvent-Signature": f"mac={mac}", "Content-Type": "application/json"}

    def post_event(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def start(self) -> "FakeZalo":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Zalo's servers

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and the client's
                # delayed ACK hold each answer ~40 ms on a kept-alive connection.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                tracking = ""
                if self.path == SEND_PATH:
                    try:
                        tracking = str(json.loads(raw).get("tracking_id") or "")
                    except (ValueError, AttributeError):
                        tracking = ""
                if time.monotonic() < fake.down_until:
                    quota = (
                        fake.down_retry_after is not None
                        and self.path == SEND_PATH
                        and sum(1 for h in fake.hits if h[1] >= 429) % 2 == 1
                    )
                    if self.path == SEND_PATH:
                        fake.hits.append((time.monotonic(), 429 if quota else 500, tracking))
                    if quota:
                        self._reply(
                            429,
                            {"error": -100, "message": "quota"},
                            {"Retry-After": str(fake.down_retry_after)},
                        )
                    else:
                        self._reply(500, {"error": -100, "message": "down"})
                    return
                if self.path == OAUTH_PATH:
                    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                    self._reply(200, fake.oauth(self.headers, form))
                    return
                if self.path != SEND_PATH:
                    self._reply(404, {"error": -106, "message": "Method unsupported"})
                    return
                if fake.script:
                    status, headers, body = fake.script.popleft()
                    fake.hits.append((time.monotonic(), status, tracking))
                    self._reply(status, body or {"message": "scripted"}, headers)
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._reply(200, {"error": -122, "message": "Body not JSON"})
                    return
                fake.hits.append((time.monotonic(), 200, tracking))
                self._reply(200, fake.send(self.headers.get("access_token"), body))

            def _reply(
                self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _ms() -> int:
    return int(time.time() * 1000)
