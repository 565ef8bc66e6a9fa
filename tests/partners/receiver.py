"""A partner's receiver for the webhook tests: a real HTTP server on 127.0.0.1 (a thread), which verifies each
request's signature and processes each Webhook-Id once, as docs/webhooks.md tells partners to."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from backend.partners import signing


class Receiver:
    def __init__(self, secret: str = "", port: int = 0) -> None:
        self.secret = secret
        self.port = port
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []  # every request: id, valid, body
        self.processed: dict[str, int] = {}  # Webhook-Id -> times processed (1: repeats are only counted)
        self.duplicates = 0  # validly signed repeats of an id already processed (at-least-once at work)
        self.delay_first: dict[str, float] = {}  # Webhook-Id -> seconds the first request of it is held
        self.arrived = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> "Receiver":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                msg_id = self.headers.get("Webhook-Id", "")
                valid = signing.verify(
                    owner.secret,
                    msg_id,
                    self.headers.get("Webhook-Timestamp", ""),
                    body,
                    self.headers.get("Webhook-Signature", ""),
                )
                with owner.lock:
                    first = not any(r["id"] == msg_id for r in owner.received)
                    owner.received.append({"id": msg_id, "valid": valid, "body": json.loads(body)})
                owner.arrived.set()
                hold = owner.delay_first.get(msg_id, 0.0) if first else 0.0
                if hold:
                    time.sleep(hold)
                if not valid:
                    self.send_response(401)
                    self.end_headers()
                    return
                with owner.lock:  # dedupe by Webhook-Id: a repeat is acknowledged, not processed again
                    if msg_id in owner.processed:
                        owner.duplicates += 1
                    else:
                        owner.processed[msg_id] = 1
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"
