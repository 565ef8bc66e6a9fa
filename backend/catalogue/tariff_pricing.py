"""Pricing a visit from the versions in force (pure: rows in, a quote out; no I/O).

The price tables (schemas/pricing.py) keep every version of every key. ``book_at`` picks, for each key, the
version with the latest ``effective_from`` not after the moment asked for, and ``price`` prices one visit with
it: the postal charge (cước) by kind and distance zone (backend/catalogue/tariffs.py's zones), the
procedure's fee (phí) and charge (lệ phí) at pickup, and the first exemption that applies.

Exemptions: a free pilot of a province and/or procedure, or a group of citizens the law exempts (e.g. Circular
85/2019/TT-BTC art. 5 leaves the exempt groups of each charge to the provincial council's resolution; Decree
118/2025/NĐ-CP lets a province pilot free receipt and return of results). An exemption ``covers`` the fees
(fee + charge), the postal charge, or all; its ``code`` is the ledger's ``exempt:{code}`` account and its
``legal_basis`` is shown and recorded.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from backend.catalogue import tariffs


class Versioned(Protocol):
    @property
    def effective_from(self) -> datetime: ...


V = TypeVar("V", bound=Versioned)


@dataclass(frozen=True, slots=True)
class Rate:
    id: str
    kind: str
    zone: str
    amount_vnd: int
    effective_from: datetime


@dataclass(frozen=True, slots=True)
class Fee:
    id: str
    procedure_code: str
    fee_vnd: int
    charge_vnd: int
    effective_from: datetime


@dataclass(frozen=True, slots=True)
class Exemption:
    id: str
    code: str
    province_code: str | None
    procedure_code: str | None
    citizen_group: str | None
    covers: str
    active: bool
    legal_basis: str
    label_vi: str
    label_en: str
    effective_from: datetime

    def applies(self, province_code: str | None, procedure_code: str | None, groups: frozenset[str]) -> bool:
        if not self.active:
            return False
        if self.province_code is not None and self.province_code != province_code:
            return False
        if self.procedure_code is not None and self.procedure_code != procedure_code:
            return False
        return self.citizen_group is None or self.citizen_group in groups


@dataclass(frozen=True, slots=True)
class PriceBook:
    """The versions in force at ``at``."""

    at: datetime
    rates: Mapping[tuple[str, str], Rate]
    fees: Mapping[str, Fee]
    exemptions: tuple[Exemption, ...]


def in_force(versions: Iterable[V], key: Any, at: datetime) -> dict[Any, V]:
    """For each key (``key(version)``) the version with the latest start not after ``at``."""
    best: dict[Any, V] = {}
    for v in versions:
        if v.effective_from > at:
            continue
        k = key(v)
        if k not in best or best[k].effective_from < v.effective_from:
            best[k] = v
    return best


def book_at(
    rates: Iterable[Rate], fees: Iterable[Fee], exemptions: Iterable[Exemption], at: datetime
) -> PriceBook:
    current = in_force(exemptions, lambda e: e.code, at)
    return PriceBook(
        at=at,
        rates=in_force(rates, lambda r: (r.kind, r.zone), at),
        fees=in_force(fees, lambda f: f.procedure_code, at),
        exemptions=tuple(sorted(current.values(), key=lambda e: e.code)),
    )


def _postal(book: PriceBook | None, kind: str, distance_km: float) -> tuple[tariffs.TariffQuote, str | None]:
    q = tariffs.quote(kind, distance_km)
    rate = book.rates.get((q.kind.value, q.zone)) if book is not None else None
    if rate is None:  # no version stored for this key: the shipped default
        return q, None
    table = {k: dict(row) for k, row in tariffs.DEFAULT_TARIFF.items()}
    table[q.kind][q.zone] = rate.amount_vnd
    return tariffs.quote(kind, distance_km, table=table), rate.id


def price(
    book: PriceBook | None,
    kind: str,
    distance_km: float,
    procedure: tuple[str, int, int] | None,
    *,
    province_code: str | None = None,
    groups: frozenset[str] = frozenset(),
    fees_due: bool = True,
) -> dict[str, Any]:
    """One visit's quote. ``procedure`` is (code, catalogue fee, catalogue charge); a stored fee version of
    the code wins over the catalogue's. ``fees_due`` false (a result delivery): the postal charge only."""
    q, rate_id = _postal(book, kind, distance_km)
    fee = charge = 0
    fee_id: str | None = None
    code = procedure[0] if procedure is not None else None
    if procedure is not None and fees_due:
        stored = book.fees.get(procedure[0]) if book is not None else None
        fee, charge = (stored.fee_vnd, stored.charge_vnd) if stored else (procedure[1], procedure[2])
        fee_id = stored.id if stored else None
    exemption: dict[str, Any] | None = None
    exempted = 0
    for e in book.exemptions if book is not None else ():
        if e.applies(province_code, code, groups):
            exempted = {"fees": fee + charge, "postal": q.amount_vnd, "all": fee + charge + q.amount_vnd}[
                e.covers
            ]
            exemption = {
                "id": e.id,
                "code": e.code,
                "covers": e.covers,
                "amount_vnd": exempted,
                "legal_basis": e.legal_basis,
                "label_vi": e.label_vi,
                "label_en": e.label_en,
            }
            break
    return {
        "postal": q.amount_vnd,
        "fee": fee,
        "charge": charge,
        "exempted": exempted,
        "total": q.amount_vnd + fee + charge - exempted,
        "currency": "VND",
        "zone": q.zone,
        "distance_km": round(distance_km, 2),
        "label_vi": q.label_vi,
        "label_en": q.label_en,
        "tariff_rate_id": rate_id,
        "procedure_fee_id": fee_id,
        "exemption": exemption,
    }
