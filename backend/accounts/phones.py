"""Vietnamese mobile numbers, normalised to E.164 (+84 followed by 9 digits)."""

import re

from backend.lib.problems import Problem

_LOCAL = re.compile(r"^0(\d{9})$")
_E164 = re.compile(r"^\+84(\d{9})$")
_BARE = re.compile(r"^84(\d{9})$")


def normalise_phone(raw: str) -> str:
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    for pattern in (_E164, _LOCAL, _BARE):
        m = pattern.match(digits)
        if m:
            return "+84" + m.group(1)
    raise Problem(
        422,
        f"Số điện thoại không hợp lệ: '{raw}' / Invalid Vietnamese phone number",
        code="invalid_phone",
    )
