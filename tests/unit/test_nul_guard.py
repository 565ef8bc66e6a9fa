"""The NUL guard refuses a JSON body exactly when a decoded string holds NUL, wherever the chunks split it."""

import json
from typing import Any

import pytest

from backend.lib.nul_guard import _scanning
from backend.lib.problems import Problem

NOTES = [
    "a\x00b",  # NUL
    "a\\u0000b",  # a backslash, then the text u0000
    "\\\x00",  # a backslash, then NUL: three backslashes before u0000 in JSON
    "\\\\u0000",  # two backslashes, then text
    "cổng sau",
]
BODIES = [json.dumps({"note": n}, ensure_ascii=ascii).encode() for n in NOTES for ascii in (True, False)]


def _receive(*chunks: bytes) -> Any:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]

    async def receive() -> Any:
        return messages.pop(0)

    return receive


@pytest.mark.parametrize("body", BODIES)
async def test_refused_exactly_when_a_string_holds_nul(body: bytes) -> None:
    holds_nul = "\x00" in json.loads(body)["note"]
    for cut in range(len(body) + 1):
        receive = _scanning(_receive(body[:cut], body[cut:]))
        if holds_nul:
            with pytest.raises(Problem) as refused:
                [await receive() for _ in range(2)]
            assert refused.value.status_code == 400 and refused.value.code == "nul_character"
        else:
            assert [(await receive())["body"] for _ in range(2)] == [body[:cut], body[cut:]]
