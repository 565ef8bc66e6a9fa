"""Responses show times in Vietnam time (stored in UTC, shown in Asia/Ho_Chi_Minh: ``2026-11-23T08:00:00+07:00``).

msgspec encodes datetimes natively (as UTC ``Z`` for our UTC values), so a type encoder cannot reach them; the
response class localises every aware datetime in the content before it is encoded.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from litestar import Response
from litestar.serialization import default_serializer
from pydantic import BaseModel

from schemas.vntime import to_vn

# Leaves that never hold a datetime (exact types: ``datetime`` subclasses ``date``). Checking the type first
# keeps the walk cheap for big listings (two weeks of slots is a few hundred values).
_PLAIN = frozenset({str, int, float, bool, type(None), uuid.UUID, date, Decimal})


def localise(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k: v if type(v) in _PLAIN else localise(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else localise(v) for v in value]
    if isinstance(value, datetime):
        return to_vn(value)
    if isinstance(value, BaseModel):
        return localise(value.model_dump(mode="python"))
    if isinstance(value, dict):
        return {k: localise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [localise(v) for v in value]
    return value


class LocalTimeResponse(Response[Any]):
    def render(self, content: Any, media_type: str, enc_hook: Any = default_serializer) -> bytes:
        return super().render(localise(content), media_type, enc_hook)
