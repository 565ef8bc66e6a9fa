"""Postal charges for home service."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.catalogue.tariffs import DEFAULT_TARIFF, ZONES, ServiceKind, quote, validate_table, zone_for


@pytest.mark.parametrize(
    ("km", "zone"),
    [
        (0, "Z1"),
        (0.4, "Z1"),
        (5.0, "Z1"),
        (5.01, "Z2"),
        (10, "Z2"),
        (10.5, "Z3"),
        (20, "Z3"),
        (20.1, "Z4"),
        (300, "Z4"),
    ],
)
def test_zone_bounds_are_inclusive_at_the_top(km: float, zone: str) -> None:
    assert zone_for(km).code == zone


@pytest.mark.parametrize("km", [-0.1, math.nan, math.inf])
def test_bad_distances(km: float) -> None:
    with pytest.raises(ValueError):
        quote("pickup", km)


def test_quote_reads_the_table() -> None:
    q = quote("pickup", 3.2)
    assert (q.kind, q.zone, q.amount_vnd) == (
        ServiceKind.pickup,
        "Z1",
        DEFAULT_TARIFF[ServiceKind.pickup]["Z1"],
    )
    assert q.distance_km == 3.2
    assert "Nhận hồ sơ tại nhà" in q.label_vi and "đến 5 km" in q.label_vi
    assert "pickup" in q.label_en.lower() and "up to 5 km" in q.label_en
    assert f"{q.amount_vnd:,}".replace(",", ".") in q.label_vi


def test_kind_is_case_insensitive_and_checked() -> None:
    assert quote(" Delivery ", 12).kind is ServiceKind.delivery
    with pytest.raises(ValueError, match="unknown service kind"):
        quote("teleport", 1)


def test_default_amounts_are_realistic() -> None:
    validate_table(DEFAULT_TARIFF)
    for kind in ServiceKind:
        amounts = [DEFAULT_TARIFF[kind][z.code] for z in ZONES]
        assert amounts == sorted(amounts), kind  # farther never cheaper
        assert all(10_000 <= a <= 150_000 and a % 1000 == 0 for a in amounts), kind
    # assisted visits take longer than a plain pickup
    assert all(
        DEFAULT_TARIFF[ServiceKind.assisted][z.code] > DEFAULT_TARIFF[ServiceKind.pickup][z.code]
        for z in ZONES
    )


def test_a_post_office_can_supply_its_own_table() -> None:
    own = {k: {z.code: 1000 * (i + 1) for i, z in enumerate(ZONES)} for k in ServiceKind}
    assert quote("assisted", 15, table=own).amount_vnd == 3000
    broken = {k: dict(v) for k, v in own.items()}
    broken[ServiceKind.delivery]["Z4"] = -5
    with pytest.raises(ValueError, match="delivery/Z4"):
        quote("pickup", 1, table=broken)
    with pytest.raises(ValueError, match="no row"):
        quote("pickup", 1, table={ServiceKind.pickup: own[ServiceKind.pickup]})


@given(kind=st.sampled_from(list(ServiceKind)), a=st.floats(0, 500), b=st.floats(0, 500))
def test_monotonic_in_distance(kind: ServiceKind, a: float, b: float) -> None:
    near, far = sorted((a, b))
    assert quote(kind, near).amount_vnd <= quote(kind, far).amount_vnd
    q = quote(kind, far)
    bound = next(z for z in ZONES if z.code == q.zone)
    assert far <= bound.max_km
