"""A fake eSMS.vn gateway on 127.0.0.1 for tests and benchmarks, speaking its documented JSON API
(https://developers.esms.vn/en/esms-api/send-sms-api/send-otp-customer-care-message).

``POST /MainService.svc/json/SendMultipleMessage_V4_post_json/`` checks what eSMS checks — the ApiKey and
SecretKey (else CodeResult 101), the Brandname (104), SmsType "2" (118), the phone's format (108), a RequestId
seen before (124) — records each accepted message and answers ``{"CodeResult": "100", "SMSID": ...}``.
``script`` holds HTTP answers to give first instead (429 with Retry-After, 500), one per request. ``outage``:
for a while every request gets HTTP 500 and 429 with ``Retry-After`` in turn (the provider drill); ``hits``
records every send request's arrival (monotonic time, HTTP status, RequestId).
"""

import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"


@dataclass
class Sent:
    sms_id: str
    phone: str
    content: str
    request_id: str
    unicode: str
    callback_url: str | None


@dataclass
class FakeEsms:
    api_key: str = "esms-api-key"
    secret_key: str = "esms-secret-key"
    brandname: str = "BUUDIEN"
    sent: list[Sent] = field(default_factory=list)
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)  # (HTTP status, headers)
    down_until: float = 0.0  # monotonic time: before it, answers alternate 500 and 429 (``outage``)
    down_retry_after: int = 5
    hits: list[tuple[float, int, str]] = field(default_factory=list)  # (monotonic time, status, RequestId)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def outage(self, seconds: float, retry_after: int = 5) -> None:
        """For ``seconds`` from now answer every send with HTTP 500, then 429 with ``Retry-After``, in turn."""
        self.down_retry_after = retry_after
        self.down_until = time.monotonic() + seconds

    def _down_answer(self) -> tuple[int, dict[str, str]] | None:
        if time.monotonic() >= self.down_until:
            return None
        if sum(1 for h in self.hits if h[1] >= 429) % 2:
            return 429, {"Retry-After": str(self.down_retry_after)}
        return 500, {}

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("ApiKey") != self.api_key or body.get("SecretKey") != self.secret_key:
            return {"CodeResult": "101", "ErrorMessage": "Sai ApiKey hoac SecretKey"}
        if body.get("SmsType") != "2":
            return {"CodeResult": "118", "ErrorMessage": "Loai tin khong ho tro"}
        if body.get("Brandname") != self.brandname:
            return {"CodeResult": "104", "ErrorMessage": "Brandname khong ton tai"}
        if not re.fullmatch(r"0\d{9}", str(body.get("Phone", ""))):
            return {"CodeResult": "108", "ErrorMessage": "So dien thoai khong dung dinh dang"}
        request_id = str(body.get("RequestId", ""))
        if request_id and any(s.request_id == request_id for s in self.sent):
            return {"CodeResult": "124", "ErrorMessage": "Trung RequestId"}
        sms_id = uuid.uuid4().hex + "250"
        self.sent.append(
            Sent(
                sms_id,
                body["Phone"],
                str(body.get("Content", "")),
                request_id,
                str(body.get("IsUnicode")),
                body.get("CallbackUrl"),
            )
        )
        return {"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id}

    def start(self) -> "FakeEsms":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != PATH:
                    self._reply(404, {"Message": "Endpoint not found."})
                    return
                try:
                    request_id = str(json.loads(raw).get("RequestId", ""))
                except (ValueError, AttributeError):
                    request_id = ""
                down = fake._down_answer()
                if down is not None:
                    fake.hits.append((time.monotonic(), down[0], request_id))
                    self._reply(down[0], {"Message": "outage"}, down[1])
                    return
                if fake.script:
                    status, headers = fake.script.popleft()
                    fake.hits.append((time.monotonic(), status, request_id))
                    self._reply(status, {"Message": "scripted"}, headers)
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._reply(400, {"Message": "bad JSON"})
                    return
                fake.hits.append((time.monotonic(), 200, request_id))
                self._reply(200, fake.answer(body))

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
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
