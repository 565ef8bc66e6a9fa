"""The OSRM /table client (backend.lib.osrm) against a local HTTP server, alone and as a solver's provider."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from backend.lib.osrm import OsrmError, OsrmMatrix
from routing import Location

HANOI = Location(lat=21.0285, lon=105.8542)
BAC_NINH = Location(lat=21.1861, lon=106.0763)
HCMC = Location(lat=10.7769, lon=106.7009)


class _Osrm(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        _Osrm.requests.append(self.path)
        parts = url.path.split("/")
        # /table/v1/{profile}/{coords}
        if parts[1:3] != ["table", "v1"]:
            self.send_response(404)
            self.end_headers()
            return
        coords = [tuple(map(float, c.split(","))) for c in parts[4].split(";")]
        body: dict[str, object]
        if len(coords) > 3:
            body = {"code": "TooBig", "message": "Too many table coordinates"}
        else:
            ann = parse_qs(url.query).get("annotations", [""])[0].split(",")
            n = len(coords)
            # deterministic fake road network: |i - j| * 100 s, 1000 m; one unreachable pair
            dur = [[abs(i - j) * 100.0 if (i, j) != (0, 2) else None for j in range(n)] for i in range(n)]
            body = {"code": "Ok", "durations": dur}
            if "distance" in ann:
                body["distances"] = [[abs(i - j) * 1000.0 for j in range(n)] for i in range(n)]
        data = json.dumps(body).encode()
        self.send_response(200 if body["code"] == "Ok" else 400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def osrm_url() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Osrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_osrm_table_client(osrm_url: str) -> None:
    m = OsrmMatrix(url=osrm_url).matrix([HANOI, BAC_NINH, HCMC], "motorbike")
    assert m.durations[0, 1] == 100.0 and m.durations[1, 2] == 100.0 and m.durations[2, 0] == 200.0
    assert np.isinf(m.durations[0, 2])
    assert m.distances is not None and m.distances[0, 2] == 2000.0
    last = _Osrm.requests[-1]
    assert last.startswith("/table/v1/car/105.854200,21.028500;106.076300,21.186100;")
    assert "annotations=duration%2Cdistance" in last or "annotations=duration,distance" in last


def test_osrm_errors(osrm_url: str) -> None:
    with pytest.raises(OsrmError, match="TooBig|HTTP 400"):
        OsrmMatrix(url=osrm_url).matrix([HANOI, BAC_NINH, HCMC, HANOI], "car")
    with pytest.raises(OsrmError, match="OSRM_URL"):
        OsrmMatrix().matrix([HANOI, BAC_NINH], "car")


def test_solve_with_osrm_provider(osrm_url: str) -> None:
    from routing import Depot, Problem, SolveOptions, Stop, TimeWindow, Vehicle, solve

    problem = Problem(
        depots=[Depot("BC", HANOI)],
        vehicles=[Vehicle("v1", depot_id="BC", shift_start=0, shift_end=10_000)],
        stops=[Stop("a", BAC_NINH, TimeWindow(0, 10_000), 60), Stop("b", HCMC, TimeWindow(0, 10_000), 60)],
        matrix_provider=OsrmMatrix(url=osrm_url),
    )
    sol = solve(problem, SolveOptions(time_limit_s=1))
    assert not sol.unassigned
    # nodes: a=0, b=1, depot=2 -> durations |i-j|*100 except a -> depot unreachable: a cannot be last
    assert sol.routes[0].stop_ids == ["a", "b"]
    assert sol.total_travel_time == pytest.approx(100 + 100 + 200)
