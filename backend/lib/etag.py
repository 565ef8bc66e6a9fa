"""Validators for reference data (issue 19): a strong ``ETag`` and ``Cache-Control`` on 200 answers, and 304
Not Modified when the client's ``If-None-Match`` names the current tag (RFC 9110 §8.8.3, §13.1.2, §15.4.5;
RFC 9111 §5.2.2). Apps keep procedures, units, organisations and the calendar offline and revalidate cheaply.

A handler opts in with ``**cached()`` (or a controller with ``middleware`` and ``opt`` from it). The tag is a
hash of the body as sent, so any change of the data, or of how it is written, gives a new tag, and every
process and instance gives the same tag for the same answer without sharing state. ``finish_document``
(backend/lib/openapi.py) documents the 304, the ``If-None-Match`` parameter and the answer's headers for every
operation that opted in.
"""

import hashlib
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

OPT = "cache_control"
PUBLIC_REFERENCE = "public, max-age=3600"


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str, tag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag, compared weakly (a ``W/`` prefix is ignored)."""
    candidates = [t.strip() for t in if_none_match.split(",")]
    return any(t == "*" or t.removeprefix("W/") == tag for t in candidates)


class ETagMiddleware(ASGIMiddleware):
    """Buffers a GET's 200 answer to tag it; anything else passes through untouched."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        policy = scope["route_handler"].opt.get(OPT) if "route_handler" in scope else None
        if scope.get("method") not in ("GET", "HEAD") or not policy:
            await next_app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if message["status"] != 200:
                    start = None
                    chunks.clear()
                    await send(message)
                    return
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._answer(scope, start, b"".join(chunks), policy, send)

        await next_app(scope, receive, buffered)

    @staticmethod
    async def _answer(scope: Scope, start: Message, body: bytes, policy: str, send: Send) -> None:
        tag = entity_tag(body)
        ours = [(b"etag", tag.encode()), (b"cache-control", policy.encode())]
        sent = next((v for k, v in scope["headers"] if k.lower() == b"if-none-match"), b"")
        if matches(sent.decode("latin-1"), tag):
            # A 304 carries the validators and Cache-Control a 200 would, and no body (RFC 9110 §15.4.5).
            await send({"type": "http.response.start", "status": 304, "headers": ours})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))  # type: ignore[call-overload]
        kept = [(k, v) for k, v in headers if k.lower() not in (b"etag", b"cache-control")]
        await send({"type": "http.response.start", "status": 200, "headers": [*kept, *ours]})
        await send({"type": "http.response.body", "body": body, "more_body": False})


ETAGS = ETagMiddleware()


def cached(policy: str = PUBLIC_REFERENCE) -> dict[str, Any]:
    """Route handler (or controller) keyword arguments: tag the answer, revalidate, cache per ``policy``
    (``public, max-age=3600`` for public reference data; ``private, ...`` if it depends on the caller)."""
    return {"middleware": [ETAGS], "opt": {OPT: policy}}
