"""Road travel times from a self-hosted OSRM server (``OSRM_URL``): its ``/table/v1/{profile}`` service as a
``routing.MatrixProvider``. Here, not in ``routing``, because routing is a library without web or HTTP clients
(the import contracts in pyproject.toml); the planner passes this provider in when OSRM is configured."""

from dataclasses import dataclass, field

import httpx
import numpy as np

from routing import Location, TravelMatrix
from routing.model import FloatArray


class OsrmError(RuntimeError):
    pass


@dataclass
class OsrmMatrix:
    """OSRM `/table/v1/{profile}` client for the server at ``url`` (``settings.osrm_url``).

    OSRM profile names differ from ours; `profiles` maps ours to the server's (a motorbike usually runs on the
    "car" graph, scaled by `speed_factor` since bikes filter through traffic).
    """

    url: str | None = None
    timeout_s: float = 30.0
    profiles: dict[str, str] = field(
        default_factory=lambda: {"motorbike": "car", "car": "car", "bicycle": "bike", "foot": "foot"}
    )
    speed_factor: dict[str, float] = field(default_factory=lambda: {"motorbike": 1.0})

    def base_url(self) -> str:
        if not self.url:
            raise OsrmError("OSRM_URL is not set")
        return self.url.rstrip("/")

    def matrix(self, locations: list[Location], profile: str) -> TravelMatrix:
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in _lat_lon(locations))
        server_profile = self.profiles.get(profile, profile)
        url = f"{self.base_url()}/table/v1/{server_profile}/{coords}"
        resp = httpx.get(url, params={"annotations": "duration,distance"}, timeout=self.timeout_s)
        if resp.status_code != 200:
            raise OsrmError(f"OSRM /table HTTP {resp.status_code}: {resp.text[:200]}")
        body = resp.json()
        if body.get("code") != "Ok":
            raise OsrmError(f"OSRM /table error: {body.get('code')} {body.get('message', '')}")
        n = len(locations)
        dur = _table(body.get("durations"), n, "durations")
        dist = _table(body.get("distances"), n, "distances") if "distances" in body else None
        factor = self.speed_factor.get(profile, 1.0)
        if factor != 1.0:
            dur = dur / factor
        return TravelMatrix(durations=dur, distances=dist)


def _lat_lon(locations: list[Location]) -> list[tuple[float, float]]:
    out = []
    for i, loc in enumerate(locations):
        if loc.lat is None or loc.lon is None:
            raise ValueError(f"location {i} has no lat/lon")
        out.append((float(loc.lat), float(loc.lon)))
    return out


def _table(rows: object, n: int, name: str) -> FloatArray:
    if not isinstance(rows, list) or len(rows) != n:
        raise OsrmError(f"OSRM /table: bad {name} shape")
    arr = np.array([[np.inf if v is None else float(v) for v in row] for row in rows], dtype=np.float64)
    if arr.shape != (n, n):
        raise OsrmError(f"OSRM /table: bad {name} shape {arr.shape}")
    return arr
