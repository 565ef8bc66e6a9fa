"""Deterministic "province day" scenarios: couriers from one post office serving home pickups / returns.

Home pickup and return of dossiers follow Circular 17/2017/TT-BTTTT art. 5 and Decision 45/2016/QĐ-TTg;
the booking slots here are two-hour windows between 08:00 and 17:00 (Asia/Ho_Chi_Minh local time).
"""

import math
import random

from routing.model import (
    Break,
    Depot,
    Location,
    PickupDelivery,
    Problem,
    Stop,
    TimeWindow,
    Vehicle,
)

H = 3600
SLOTS = ((8 * H, 10 * H), (10 * H, 12 * H), (13 * H, 15 * H), (15 * H, 17 * H))
SERVICE_S = {"pickup": 5 * 60, "delivery": 4 * 60, "assisted": 15 * 60, "agency": 3 * 60}

Centroid = tuple[str, float, float]


def sample_centroids(
    n: int = 40, center: tuple[float, float] = (21.186, 106.076), radius_km: float = 18.0, seed: int = 0
) -> list[Centroid]:
    """Synthetic commune centroids around a point (default: Bắc Ninh city) for tests and the bench."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        r = radius_km * math.sqrt(rng.random())
        a = rng.random() * 2 * math.pi
        lat = center[0] + (r * math.cos(a)) / 111.0
        lon = center[1] + (r * math.sin(a)) / (111.0 * math.cos(math.radians(center[0])))
        out.append((f"{25000 + i:05d}", lat, lon))
    return out


def _jitter(rng: random.Random, lat: float, lon: float, km: float) -> Location:
    dlat = rng.gauss(0, km) / 111.0
    dlon = rng.gauss(0, km) / (111.0 * math.cos(math.radians(lat)))
    return Location(lat=lat + dlat, lon=lon + dlon)


def province_day(
    centroids: list[Centroid],
    depot: tuple[float, float],
    n_stops: int = 300,
    n_couriers: int = 20,
    seed: int = 0,
    pair_share: float = 0.05,
    assisted_share: float = 0.1,
    fees_share: float = 0.1,
    jitter_km: float = 1.2,
) -> Problem:
    """A realistic day: ~45 % home pickups, ~45 % returns (deliveries from the office), some assisted visits
    (skill "assisted", longer service), some with fee collection (skill "fees"), a few pickup→agency pairs,
    couriers on motorbikes 07:30-17:30 with a one-hour lunch starting 11:30-13:00. Deterministic in `seed`.
    """
    rng = random.Random(seed)
    office = Depot("BC", Location(lat=depot[0], lon=depot[1]), opens=7 * H, closes=18 * H)
    vehicles = [_courier(k, office) for k in range(n_couriers)]
    n_pairs = int(n_stops * pair_share / 2)
    shares = (assisted_share, fees_share)
    stops = [_single_stop(rng, i, centroids, shares, jitter_km) for i in range(n_stops - 2 * n_pairs)]
    pairs: list[PickupDelivery] = []
    for j in range(n_pairs):
        pickup, delivery = _pair(rng, j, centroids, jitter_km)
        stops += [pickup, delivery]
        pairs.append(PickupDelivery(pickup.id, delivery.id))
    return Problem(depots=[office], vehicles=vehicles, stops=stops, pairs=pairs)


def _courier(k: int, office: Depot) -> Vehicle:
    """Seven in ten collect fees, one in three may make assisted visits."""
    skills = {"fees"} if k % 10 < 7 else set()
    if k % 3 == 0:
        skills.add("assisted")
    return Vehicle(
        id=f"courier-{k + 1:02d}",
        depot_id=office.id,
        shift_start=7 * H + 30 * 60,
        shift_end=17 * H + 30 * 60,
        breaks=(Break(duration=H, earliest_start=11 * H + 30 * 60, latest_start=13 * H),),
        capacity_items=40,
        capacity_weight=15_000,
        skills=frozenset(skills),
    )


def _single_stop(
    rng: random.Random, i: int, centroids: list[Centroid], shares: tuple[float, float], jitter_km: float
) -> Stop:
    """A home pickup or a return from the office, in a random window, maybe assisted, maybe with fees."""
    assisted_share, fees_share = shares
    code, lat, lon = centroids[rng.randrange(len(centroids))]
    slot = SLOTS[rng.randrange(len(SLOTS))]
    r = rng.random()
    kind = "pickup" if r < 0.5 else "delivery"
    needs: set[str] = set()
    service = SERVICE_S[kind]
    if rng.random() < assisted_share:
        needs.add("assisted")
        service = SERVICE_S["assisted"]
    if rng.random() < fees_share:
        needs.add("fees")
    return Stop(
        id=f"{kind[0].upper()}{i:04d}-{code}",
        location=_jitter(rng, lat, lon, jitter_km),
        window=TimeWindow(*slot),
        service_time=service,
        kind="pickup" if kind == "pickup" else "delivery",
        items=rng.choice((1, 1, 1, 2, 3)),
        weight=rng.randrange(100, 1500),
        skills=frozenset(needs),
    )


def _pair(rng: random.Random, j: int, centroids: list[Centroid], jitter_km: float) -> tuple[Stop, Stop]:
    """A morning pickup delivered to the commune's one-stop desk the same day."""
    code, lat, lon = centroids[rng.randrange(len(centroids))]
    slot = SLOTS[rng.randrange(2)]
    pickup = Stop(
        f"PP{j:03d}-{code}",
        _jitter(rng, lat, lon, jitter_km),
        TimeWindow(*slot),
        SERVICE_S["pickup"],
        "pickup",
        1,
        300,
    )
    delivery = Stop(
        f"PD{j:03d}-{code}",
        Location(lat=lat, lon=lon),
        TimeWindow(8 * H, 16 * H + 30 * 60),
        SERVICE_S["agency"],
        "delivery",
        1,
        300,
    )
    return pickup, delivery
