"""The shape of a notification template and of its rendering, and the errors of rendering: what
``notifications/templates.py`` lists one per business event (kept apart so that module holds the texts and
stays small, scripts/check_sizes.py)."""

import functools
import string
from dataclasses import dataclass
from typing import Literal

Audience = Literal["citizen", "staff"]


class TemplateError(ValueError):
    """Base class: the notification cannot be rendered."""


class MissingParamsError(TemplateError):
    def __init__(self, key: str, missing: list[str]) -> None:
        super().__init__(f"template {key!r} needs params {missing} that were not given")
        self.key = key
        self.missing = missing


class BadParamError(TemplateError):
    def __init__(self, key: str, name: str, problem: str) -> None:
        super().__init__(f"template {key!r}: param {name!r} {problem}")
        self.key = key
        self.name = name


@dataclass(frozen=True)
class Rendered:
    title_vi: str
    body_vi: str
    title_en: str
    body_en: str
    deep_link: str | None
    collapse_key: str | None
    data_only: bool
    priority: str


@dataclass(frozen=True)
class Template:
    key: str
    audience: Audience
    title_vi: str
    body_vi: str
    title_en: str
    body_en: str
    link: str | None = None
    collapse: str | None = None
    priority: str = "normal"
    data_only: bool = False
    # Params shown as a date-time (or a date, for ``date`` values) in Vietnam time.
    times: tuple[str, ...] = ()
    # Params that are lists, shown joined.
    lists: tuple[str, ...] = ()

    # Cached: every notification rendered asks for them (parsing the formats each time cost ~40 µs a row).
    @functools.cached_property
    def formats(self) -> tuple[str, ...]:
        return tuple(f for f in (self.title_vi, self.body_vi, self.title_en, self.body_en) if f) + tuple(
            f for f in (self.link, self.collapse) if f
        )

    @functools.cached_property
    def params(self) -> frozenset[str]:
        """Every param any of the texts, the link or the collapse key needs."""
        names: set[str] = set()
        for fmt in self.formats:
            names.update(field for _, field, _, _ in string.Formatter().parse(fmt) if field)
        return frozenset(names)
