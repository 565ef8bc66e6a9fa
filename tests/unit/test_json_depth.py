"""The JSON depth scan agrees with the real nesting of a body, wherever the chunks split it."""

import json
from typing import Any

import pytest

from backend.lib.json_depth import MAX_DEPTH, DepthScanner
from backend.lib.problems import Problem


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def wrap(value: Any, levels: int) -> Any:
    for i in range(levels):
        value = [value] if i % 2 else {"k[{\\": value, "s": '"]}\\'}
    return value


VALUES = [wrap(core, n) for n in (0, 1, 2, 3, 4) for core in ("[[{", '\\"[', "}}]]", 7, ["a", {"b": "["}])]


def refused(body: bytes, limit: int, *cuts: int) -> bool:
    scanner = DepthScanner(limit)
    edges = [0, *cuts, len(body)]
    try:
        for a, b in zip(edges, edges[1:], strict=False):
            scanner.feed(body[a:b])
    except Problem as exc:
        assert exc.status_code == 400 and exc.code == "json_too_deep"
        return True
    return False


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("ascii", [True, False])
def test_refused_exactly_when_deeper_than_the_limit(value: Any, ascii: bool) -> None:
    body = json.dumps(value, ensure_ascii=ascii).encode()
    real = depth(value)
    for limit in {max(0, real - 1), real}:
        for cut in range(len(body) + 1):
            assert refused(body, limit, cut) == (real > limit), (body, limit, cut)
        assert refused(body, limit, *range(1, len(body))) == (real > limit)  # a byte at a time


def test_hostile_bodies_are_refused_early() -> None:
    assert refused(b"[" * (MAX_DEPTH + 1), MAX_DEPTH)
    assert not refused(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, MAX_DEPTH)
    assert refused(b'{"a":' * 100_000, MAX_DEPTH)
