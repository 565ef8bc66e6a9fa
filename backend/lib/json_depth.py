"""How deeply a JSON body nests, measured as it streams in, so a hostile body is refused before it is parsed.

msgspec (Litestar's decoder) and Pydantic recurse once per level: a body nested about a thousand levels deep
(``[[[[...]]]]``, a few kilobytes) raised ``RecursionError`` and a 500 on every JSON endpoint, sign-in
included (issue 17). No body this API takes nests more than a handful of levels, so anything deeper than
``MAX_DEPTH`` is refused with a 400 while it streams in. Brackets inside strings do not count; a string or an
escape may straddle two chunks. Only whole strings and brackets are looked at (one regular expression), so a
normal body costs little.
"""

import re

from backend.lib.problems import Problem

MAX_DEPTH = 64

# Outside a string: a bracket, a whole string, or a string that runs on past the chunk's end.
_TOKEN = re.compile(rb'[\[\]{}]|"[^"\\]*(?:\\.[^"\\]*)*(")?', re.DOTALL)
# Inside a string carried over from the previous chunk: its rest up to the closing quote, if in this chunk.
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*(")?', re.DOTALL)


def too_deep() -> Problem:
    return Problem(
        400,
        f"Dữ liệu JSON lồng quá {MAX_DEPTH} cấp / The JSON body nests more than {MAX_DEPTH} levels",
        code="json_too_deep",
    )


class DepthScanner:
    """Feed a body chunk by chunk; ``feed`` raises the 400 problem once nesting passes ``MAX_DEPTH``."""

    def __init__(self, max_depth: int = MAX_DEPTH) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.in_string = False
        self.escape = False  # the previous chunk ended inside a string on an unfinished backslash escape

    def feed(self, chunk: bytes) -> None:
        at = 0
        if not chunk:
            return
        if self.in_string:
            if self.escape:  # the escaped character opens this chunk
                self.escape = False
                at = 1
            at = self._rest_of_string(chunk, at)
        while at < len(chunk):
            m = _TOKEN.search(chunk, at)
            if m is None:
                return
            token = chunk[m.start()]
            if token in b"[{":
                self.depth += 1
                if self.depth > self.max_depth:
                    raise too_deep()
            elif token in b"]}":
                self.depth = max(0, self.depth - 1)  # unbalanced input is the decoder's to refuse
            elif m.group(1) is None:  # a string running past the chunk (all but a lone final backslash)
                self.in_string = True
                self.escape = m.end() < len(chunk)
                return
            at = m.end()

    def _rest_of_string(self, chunk: bytes, at: int) -> int:
        m = _STRING_REST.match(chunk, at)
        assert m is not None  # the pattern matches the empty string
        if m.group(1) is None:  # still open: all of the chunk is string, but maybe a lone final backslash
            self.escape = m.end() < len(chunk)
            return len(chunk)
        self.in_string = False
        return m.end()
