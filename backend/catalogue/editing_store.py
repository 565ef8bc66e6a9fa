"""The procedure versions and provinces' postal eligibility in force at a moment, read through a short cache.

Like the prices (``tariff_store``): every version is small reference data, read at once and kept ``TTL_S`` per
database. An admin's change drops it in this process at once (``invalidate``, also called by booking's
``invalidate_caches``); on PostgreSQL the tables' triggers (migration 0023) NOTIFY ``hoso_reference`` so every
other process drops it too.

The content in force on a day (``content_at``) is the version with the latest ``effective_from`` not after it,
else the catalogue row as loaded (a procedure nobody has edited). Whether the post may carry a procedure in a
province (``postal_at``) is the law's flag of that version (Decision 45/2016/QĐ-TTg art. 5: procedures whose
law requires the applicant in person are not filed by post) AND the province's list in force (a province
narrows it: An Giang's 2019 report lists which of its procedures may go by post).
"""

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue import tariff_store
from backend.catalogue.tariff_pricing import in_force
from backend.db import db_key
from backend.lib.problems import Problem
from backend.lib.ttlcache import TtlCache
from schemas.catalogue import Procedure
from schemas.catalogue_edits import ProcedureEligibility, ProcedureVersion

TTL_S = 10.0
CONTENT_FIELDS = (
    "name",
    "name_en",
    "field",
    "level",
    "processing_days",
    "documents",
    "legal_basis",
    "postal_pickup",
    "postal_return",
)


@dataclass(frozen=True, slots=True)
class Content:
    """A procedure's content in force (a version, or the catalogue row when it has none)."""

    code: str
    version_id: str | None
    seq: int
    effective_from: datetime | None
    values: tuple[tuple[str, Any], ...]

    def get(self, name: str) -> Any:
        return dict(self.values)[name]


@dataclass(frozen=True, slots=True)
class Rule:
    procedure_code: str
    province_code: str
    postal_pickup: bool
    postal_return: bool
    effective_from: datetime


@dataclass(frozen=True, slots=True)
class Catalogue:
    versions: dict[str, tuple[ProcedureVersion, ...]]
    rules: tuple[Rule, ...]


_catalogue: TtlCache[str, Catalogue] = TtlCache(TTL_S)
_listeners: list[Callable[[], None]] = []


def invalidate() -> None:
    _catalogue.clear()


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener()`` after every catalogue edit committed in this process (``backend/app.py`` wires
    booking's ``invalidate_caches``: cached procedures, offices and the served area)."""
    if listener not in _listeners:
        _listeners.append(listener)


def changed() -> None:
    invalidate()
    tariff_store.invalidate()  # a new procedure's (or an import's) fee versions
    for listener in _listeners:
        listener()


async def _load(session: AsyncSession) -> Catalogue:
    versions: dict[str, list[ProcedureVersion]] = {}
    for v in (await session.exec(select(ProcedureVersion))).all():
        session.expunge(v)
        versions.setdefault(v.procedure_code, []).append(v)
    rules = tuple(
        Rule(r.procedure_code, r.province_code, r.postal_pickup, r.postal_return, r.effective_from)
        for r in (await session.exec(select(ProcedureEligibility))).all()
    )
    return Catalogue(
        {k: tuple(sorted(v, key=lambda x: x.effective_from)) for k, v in versions.items()}, rules
    )


async def catalogue(session: AsyncSession) -> Catalogue:
    return await _catalogue.get_or_load(db_key(session), lambda: _load(session))


def version_at(cat: Catalogue, code: str, at: datetime) -> ProcedureVersion | None:
    best = in_force(cat.versions.get(code, ()), lambda v: v.procedure_code, at)
    return best.get(code)


def content_of(v: ProcedureVersion | None, head: Procedure | None, code: str) -> Content | None:
    if v is not None:
        values = tuple((n, getattr(v, n)) for n in CONTENT_FIELDS)
        return Content(code, str(v.id), v.seq, v.effective_from, values)
    if head is None:
        return None
    values = tuple((n, getattr(head, n) if n != "level" else str(head.level)) for n in CONTENT_FIELDS)
    return Content(code, None, 0, None, values)


async def content_at(session: AsyncSession, code: str, at: datetime) -> Content | None:
    """The procedure's content in force at ``at``: the checks and deadlines of a dossier received then."""
    v = version_at(await catalogue(session), code, at)
    head = None
    if v is None:
        head = (await session.exec(select(Procedure).where(Procedure.code == code))).one_or_none()
    return content_of(v, head, code)


def rule_at(cat: Catalogue, code: str, province: str, at: datetime) -> Rule | None:
    mine = [r for r in cat.rules if r.procedure_code == code and r.province_code == province]
    return in_force(mine, lambda r: 0, at).get(0)


async def postal_at(
    session: AsyncSession, code: str, province: str | None, at: datetime
) -> tuple[bool, bool]:
    """(pickup, return) by post for ``code`` in ``province`` at ``at``; an unknown procedure neither."""
    cat = await catalogue(session)
    content = content_of(version_at(cat, code, at), None, code)
    if content is None:
        head = (await session.exec(select(Procedure).where(Procedure.code == code))).one_or_none()
        content = content_of(None, head, code)
    if content is None:
        return False, False
    pickup, back = bool(content.get("postal_pickup")), bool(content.get("postal_return"))
    rule = rule_at(cat, code, province, at) if province else None
    if rule is not None:
        pickup, back = pickup and rule.postal_pickup, back and rule.postal_return
    return pickup, back


async def pickup_allowed(
    session: AsyncSession, code: str, province: str | None, times: Sequence[datetime]
) -> list[bool]:
    """``postal_at``'s pickup flag at each of ``times`` (a listing's window starts), reading it once per span
    between the procedure's and the province's version starts: the same answer a booking at each gets."""
    cat = await catalogue(session)
    starts = sorted(
        {v.effective_from for v in cat.versions.get(code, ())}
        | {r.effective_from for r in cat.rules if r.procedure_code == code and r.province_code == province}
    )
    memo: dict[int, bool] = {}
    out: list[bool] = []
    for t in times:
        span = bisect.bisect_right(starts, t)
        if span not in memo:
            memo[span] = (await postal_at(session, code, province, t))[0]
        out.append(memo[span])
    return out


def not_postal(code: str, province: str | None) -> Problem:
    return Problem(
        422,
        f"Thủ tục '{code}' không nhận hồ sơ qua bưu chính tại tỉnh này / "
        f"Procedure '{code}' is not filed by post in this province",
        code="procedure_not_postal",
        extra={"procedure": code, "province": province},
    )


async def check_postal_pickup(session: AsyncSession, code: str, province: str | None, at: datetime) -> None:
    """422 ``procedure_not_postal`` when the post may not collect ``code`` in ``province`` at ``at``."""
    pickup, _ = await postal_at(session, code, province, at)
    if not pickup:
        raise not_postal(code, province)


async def procedure_on(session: AsyncSession, head: Procedure, at: datetime) -> Procedure:
    """The catalogue row as it read at ``at`` (a dossier received then counts its deadline from it): ``head``
    itself when the version in force then is what it shows, else a transient copy with that version's content
    (never added to a session: read only)."""
    content = content_of(version_at(await catalogue(session), head.code, at), None, head.code)
    if content is None or all(getattr(head, n) == v for n, v in content.values if n != "level"):
        return head
    return Procedure.model_validate({**head.model_dump(), **dict(content.values), "id": head.id})


async def check_intake(
    session: AsyncSession, code: str, province: str | None, at: datetime, *, postal: bool, postal_return: bool
) -> None:
    """A dossier received at ``at`` in ``province``: by post only where the province's list in force allows."""
    pickup, back = await postal_at(session, code, province, at)
    if postal and not pickup:
        raise Problem(
            422,
            "Thủ tục này không được nộp qua bưu chính tại tỉnh này / this procedure cannot be filed by post here",
            code="postal_not_allowed",
        )
    if postal_return and not back:
        raise Problem(
            422,
            "Thủ tục này không trả kết quả qua bưu chính tại tỉnh này / results of this procedure cannot be "
            "posted here",
            code="postal_return_not_allowed",
        )
