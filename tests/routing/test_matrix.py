"""Haversine provider vs geopy (the OSRM client is tested in tests/unit/test_osrm.py)."""

import numpy as np
import pytest

from routing import HaversineMatrix, Location, geodesic_m, haversine_matrix_m

HANOI = Location(lat=21.0285, lon=105.8542)
BAC_NINH = Location(lat=21.1861, lon=106.0763)
HCMC = Location(lat=10.7769, lon=106.7009)


def test_haversine_close_to_geodesic() -> None:
    pts = [HANOI, BAC_NINH, HCMC]
    lat = np.array([p.lat for p in pts], dtype=float)
    lon = np.array([p.lon for p in pts], dtype=float)
    d = haversine_matrix_m(lat, lon)
    assert d.shape == (3, 3) and np.allclose(np.diag(d), 0)
    assert np.allclose(d, d.T)
    for i in range(3):
        for j in range(3):
            if i != j:
                g = geodesic_m(pts[i], pts[j])
                assert abs(d[i, j] - g) / g < 0.005
    assert 1_100_000 < d[0, 2] < 1_200_000  # Hà Nội - TP.HCM ~ 1140 km


def test_haversine_matrix_speed_and_circuity() -> None:
    m = HaversineMatrix(circuity=1.4).matrix([HANOI, BAC_NINH], "motorbike")
    straight = geodesic_m(HANOI, BAC_NINH)
    assert m.distances is not None
    assert m.distances[0, 1] == pytest.approx(straight * 1.4, rel=0.005)
    assert m.durations[0, 1] == pytest.approx(m.distances[0, 1] / (27 / 3.6))
    slow = HaversineMatrix().matrix([HANOI, BAC_NINH], "foot")
    assert slow.durations[0, 1] > m.durations[0, 1] * 4
    with pytest.raises(ValueError):
        HaversineMatrix().matrix([Location(node=3)], "motorbike")
