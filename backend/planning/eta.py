"""Arrival times of the stops a courier still has to do, from where the courier is now.

The same travel-time matrix as the solver; service at a stop starts at arrival or at its window's start,
whichever is later (the courier waits). Breaks are not re-placed here: a re-plan does that.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from routing import Location, MatrixProvider


@dataclass(frozen=True)
class Leg:
    lat: float
    lon: float
    window_start: datetime | None
    service_s: int


@dataclass(frozen=True)
class Timing:
    arrival: datetime
    service_start: datetime
    departure: datetime
    travel_s: float
    distance_m: float


def recompute(
    provider: MatrixProvider, profile: str, origin: tuple[float, float], depart_at: datetime, legs: list[Leg]
) -> list[Timing]:
    """Timings of ``legs`` in order, leaving ``origin`` at ``depart_at``."""
    if not legs:
        return []
    points = [Location(lat=origin[0], lon=origin[1])] + [Location(lat=g.lat, lon=g.lon) for g in legs]
    m = provider.matrix(points, profile)
    out: list[Timing] = []
    t = depart_at
    for i, g in enumerate(legs):
        travel = float(m.durations[i, i + 1])
        dist = float(m.distances[i, i + 1]) if m.distances is not None else 0.0
        arrival = t + timedelta(seconds=round(travel))
        start = max(arrival, g.window_start) if g.window_start is not None else arrival
        t = start + timedelta(seconds=g.service_s)
        out.append(Timing(arrival, start, t, travel, dist))
    return out
