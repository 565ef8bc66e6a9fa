"""Postal charges (cước) for home service around an administrative procedure.

Pure table. ``quote(kind, distance_km)`` prices one home visit by what the postal worker does and how far the
address is from the serving post office (bưu cục phục vụ).

The amounts are ILLUSTRATIVE DEFAULTS, not an official price list: the public-postal (bưu chính công ích) price
for receiving dossiers and returning results under Decision 45/2016/QĐ-TTg is set by the provider (Vietnam
Post, per province), and home pickup is a value-added service the provider prices itself (Circular
17/2017/TT-BTTTT art. 5). Published provincial notices we know of sit in the tens of thousands of VND per
dossier, which these figures follow. A post office replaces them by passing its own ``TariffTable``.

Distances are road or straight-line kilometres as the caller measures them; zone bounds are inclusive at
the top (exactly 5.0 km is zone 1).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class ServiceKind(StrEnum):
    pickup = "pickup"  # nhận hồ sơ tại nhà, mang đến Bộ phận Một cửa
    delivery = "delivery"  # phát kết quả tại nhà
    assisted = "assisted"  # nhân viên bưu điện hỗ trợ kê khai, chuẩn bị hồ sơ tại nhà rồi nhận gửi


KIND_LABELS: dict[ServiceKind, tuple[str, str]] = {
    ServiceKind.pickup: ("Nhận hồ sơ tại nhà", "Dossier pickup at home"),
    ServiceKind.delivery: ("Trả kết quả tại nhà", "Result delivery at home"),
    ServiceKind.assisted: ("Hỗ trợ kê khai và nhận hồ sơ tại nhà", "Assisted filing and pickup at home"),
}


@dataclass(frozen=True, slots=True)
class Zone:
    code: str
    max_km: float  # inclusive upper bound; math.inf for the last zone
    label_vi: str
    label_en: str


ZONES: tuple[Zone, ...] = (
    Zone("Z1", 5.0, "đến 5 km", "up to 5 km"),
    Zone("Z2", 10.0, "trên 5 km đến 10 km", "over 5 km up to 10 km"),
    Zone("Z3", 20.0, "trên 10 km đến 20 km", "over 10 km up to 20 km"),
    Zone("Z4", math.inf, "trên 20 km", "over 20 km"),
)

TariffTable = Mapping[ServiceKind, Mapping[str, int]]

# VND, VAT included. Illustrative defaults (see module docstring).
DEFAULT_TARIFF: TariffTable = {
    ServiceKind.pickup: {"Z1": 22_000, "Z2": 30_000, "Z3": 40_000, "Z4": 55_000},
    ServiceKind.delivery: {"Z1": 22_000, "Z2": 30_000, "Z3": 40_000, "Z4": 55_000},
    ServiceKind.assisted: {"Z1": 40_000, "Z2": 50_000, "Z3": 65_000, "Z4": 85_000},
}


@dataclass(frozen=True, slots=True)
class TariffQuote:
    kind: ServiceKind
    zone: str
    distance_km: float
    amount_vnd: int
    label_vi: str
    label_en: str


def zone_for(distance_km: float) -> Zone:
    if isinstance(distance_km, bool) or not isinstance(distance_km, int | float):
        raise TypeError("distance_km must be a number")
    if not math.isfinite(distance_km) or distance_km < 0:
        raise ValueError(f"distance_km must be a finite number >= 0, got {distance_km!r}")
    for zone in ZONES:
        if distance_km <= zone.max_km:
            return zone
    raise AssertionError("the last zone is unbounded")  # pragma: no cover


def parse_kind(kind: str | ServiceKind) -> ServiceKind:
    try:
        return ServiceKind(str(kind).strip().lower())
    except ValueError:
        raise ValueError(f"unknown service kind {kind!r} (pickup, delivery, assisted)") from None


def validate_table(table: TariffTable) -> None:
    """A table must price every kind in every zone with a non-negative whole VND amount."""
    for kind in ServiceKind:
        row = table.get(kind)
        if row is None:
            raise ValueError(f"tariff table has no row for {kind.value}")
        for zone in ZONES:
            amount = row.get(zone.code)
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise ValueError(f"tariff {kind.value}/{zone.code} must be an int >= 0, got {amount!r}")


def quote(kind: str | ServiceKind, distance_km: float, *, table: TariffTable | None = None) -> TariffQuote:
    """Price one home visit. ``table`` defaults to ``DEFAULT_TARIFF``."""
    k = parse_kind(kind)
    zone = zone_for(distance_km)
    t = DEFAULT_TARIFF if table is None else table
    if table is not None:
        validate_table(table)
    amount = t[k][zone.code]
    kind_vi, kind_en = KIND_LABELS[k]
    return TariffQuote(
        kind=k,
        zone=zone.code,
        distance_km=float(distance_km),
        amount_vnd=amount,
        label_vi=f"{kind_vi}, {zone.label_vi}: {amount:,} đ".replace(",", "."),
        label_en=f"{kind_en}, {zone.label_en}: {amount:,} VND",
    )
