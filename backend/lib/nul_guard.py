"""A NUL character in a request's path, query or JSON body is a 400, on every database.

No text a citizen or clerk types holds NUL. PostgreSQL refuses it in ``text`` columns (SQLSTATE 22021 /
22P05) and SQLite stores it, so without this check the same request would be a 400 on one database and
stored on the other. JSON carries NUL only as the escape ``\\u0000`` (a raw control character is invalid
JSON), so the body is scanned for that escape as it is received. The same pass measures how deeply the body
nests (``backend.lib.json_depth``: past 64 levels is a 400, where the decoder would recurse into a 500).
Litestar decodes a handler's JSON body whatever its content type says, so every body is scanned except forms
(photos and spreadsheets uploaded as multipart may hold NUL bytes and brackets).
"""

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from backend.lib.json_depth import DepthScanner
from backend.lib.problems import Problem

_ESCAPE = b"\\u0000"


_WHERE = {"path": "đường dẫn", "query": "tham số truy vấn", "body": "nội dung yêu cầu"}


def _refuse(where: str) -> Problem:
    return Problem(
        400,
        f"Ký tự NUL không được phép trong {_WHERE[where]} / A NUL character is not allowed in the {where}",
        code="nul_character",
    )


_FORMS = (b"multipart/", b"application/x-www-form-urlencoded")


def _is_json(scope: Scope) -> bool:
    """Whether the body may be decoded as JSON: anything but a form (a missing or other content type too)."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return not value.lower().lstrip().startswith(_FORMS)
    return True


class RefuseNulMiddleware(ASGIMiddleware):
    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if "\x00" in scope["path"]:
            raise _refuse("path")
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            raise _refuse("query")
        if _is_json(scope):
            receive = _scanning(receive)
        await next_app(scope, receive, send)


def _has_nul(buf: bytes) -> bool:
    """``\\u0000`` whose backslash starts an escape: preceded by an even run of backslashes (``\\\\u0000``
    is a backslash followed by the text ``u0000``)."""
    at = buf.find(_ESCAPE)
    while at != -1:
        run = at
        while run > 0 and buf[run - 1] == 0x5C:
            run -= 1
        if (at - run) % 2 == 0:
            return True
        at = buf.find(_ESCAPE, at + 1)
    return False


def _scanning(receive: Receive) -> Receive:
    tail = b""  # the escape may straddle two chunks, and so may the backslashes before it
    depth = DepthScanner()

    async def scan() -> ReceiveMessage:
        nonlocal tail
        message = await receive()
        if message["type"] == "http.request":
            depth.feed(message.get("body", b""))
            chunk = tail + message.get("body", b"")
            if _has_nul(chunk):
                raise _refuse("body")
            keep = max(0, len(chunk) - (len(_ESCAPE) - 1))
            while keep > 0 and chunk[keep - 1] == 0x5C:
                keep -= 1
            tail = chunk[keep:]
        return message

    return scan
