"""A request's body must arrive within ``HTTP_BODY_TIMEOUT_S`` of its headers, else 408.

The server (Granian, ``backend/server.py``) bounds the time a request's headers may take, not its body: a
client announcing a body and sending it a byte at a time would hold a request slot for as long as it likes.
The clock starts when the request reaches the app and stops once the last chunk has arrived, so waiting for a
disconnect afterwards (a streamed response listens for one) is not limited.
"""

import asyncio
import time

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from backend.lib.problems import Problem


def too_slow() -> Problem:
    return Problem(
        408,
        "Nội dung yêu cầu đến quá chậm / The request body arrived too slowly",
        code="request_timeout",
    )


class BodyTimeoutMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await next_app(scope, _within(receive, time.monotonic() + self.timeout_s), send)


def _within(receive: Receive, deadline: float) -> Receive:
    complete = False

    async def timed() -> ReceiveMessage:
        nonlocal complete
        if complete:
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise too_slow() from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            complete = True
        return message

    return timed
