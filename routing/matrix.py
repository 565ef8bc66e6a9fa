"""Travel-time matrix provider: vectorised haversine × circuity (road times from OSRM: ``backend.lib.osrm``)."""

from dataclasses import dataclass, field

import numpy as np
from geopy.distance import geodesic

from routing.model import FloatArray, Location, TravelMatrix

EARTH_RADIUS_M = 6_371_008.8

# Effective urban door-to-door speeds (km/h) including junctions and parking; motorbike is the courier default.
DEFAULT_SPEEDS_KMH: dict[str, float] = {
    "motorbike": 27.0,
    "car": 22.0,
    "bicycle": 12.0,
    "foot": 4.5,
}


def _coords(locations: list[Location]) -> FloatArray:
    out = np.empty((len(locations), 2), dtype=np.float64)
    for i, loc in enumerate(locations):
        if loc.lat is None or loc.lon is None:
            raise ValueError(f"location {i} has no lat/lon")
        out[i, 0] = loc.lat
        out[i, 1] = loc.lon
    return out


def haversine_matrix_m(lat: FloatArray, lon: FloatArray) -> FloatArray:
    """Great-circle distances (metres) between all pairs, vectorised."""
    phi = np.radians(lat)
    lam = np.radians(lon)
    cos_phi = np.cos(phi)
    dphi = phi[:, None] - phi[None, :]
    dlam = lam[:, None] - lam[None, :]
    a = np.sin(dphi * 0.5) ** 2 + np.outer(cos_phi, cos_phi) * np.sin(dlam * 0.5) ** 2
    np.clip(a, 0.0, 1.0, out=a)
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def geodesic_m(a: Location, b: Location) -> float:
    """Precise single distance (WGS84 ellipsoid, geopy) in metres."""
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        raise ValueError("geodesic_m needs lat/lon on both locations")
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).meters)


@dataclass
class HaversineMatrix:
    """Great-circle distance × road circuity, divided by the profile's effective speed.

    circuity 1.35 is a common urban road/straight-line ratio; Vietnamese alleys (hẻm/ngõ) are often worse, so
    callers may raise it per province.
    """

    circuity: float = 1.35
    speeds_kmh: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KMH))

    def matrix(self, locations: list[Location], profile: str) -> TravelMatrix:
        c = _coords(locations)
        dist = haversine_matrix_m(c[:, 0], c[:, 1])
        dist *= self.circuity
        speed_ms = self.speeds_kmh.get(profile, self.speeds_kmh["motorbike"]) / 3.6
        return TravelMatrix(durations=dist / speed_ms, distances=dist)

    def between(
        self, one: Location, locations: list[Location], profile: str
    ) -> tuple[FloatArray, FloatArray]:
        """Durations from ``one`` to each of ``locations`` and from each back to it: the row and column
        ``matrix([*locations, one], profile)`` would hold for ``one``, equal to the bit, for a fraction of the
        work (one place asked against a plan's stops; ``routing.prepared``)."""
        c = _coords([one, *locations])
        phi = np.radians(c[:, 0])
        lam = np.radians(c[:, 1])
        cos_phi = np.cos(phi)
        speed_ms = self.speeds_kmh.get(profile, self.speeds_kmh["motorbike"]) / 3.6
        out = []
        # The same operations, in the same order, as haversine_matrix_m on the pairs (one, i) and (i, one).
        for dphi, dlam, cc in (
            (phi[0] - phi[1:], lam[0] - lam[1:], cos_phi[0] * cos_phi[1:]),
            (phi[1:] - phi[0], lam[1:] - lam[0], cos_phi[1:] * cos_phi[0]),
        ):
            a = np.sin(dphi * 0.5) ** 2 + cc * np.sin(dlam * 0.5) ** 2
            np.clip(a, 0.0, 1.0, out=a)
            dist = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
            dist *= self.circuity
            out.append(dist / speed_ms)
        return out[0], out[1]
