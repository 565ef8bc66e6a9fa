"""The geopy geocoder against a tiny Nominatim/Photon look-alike on 127.0.0.1."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from backend.booking.geocoding import GeopyGeocoder, NoGeocoder, geocoder_for

KNOWN = {"12 Lê Lợi, Phường Mỹ Tho": (10.3600, 106.3650, "12 Lê Lợi, Mỹ Tho, Đồng Tháp, Việt Nam")}


class Handler(BaseHTTPRequestHandler):
    seen: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        q = parse_qs(parts.query)
        Handler.seen.append({"path": [parts.path], **q})
        query = q.get("q", [""])[0]
        hit = KNOWN.get(query)
        if parts.path.endswith("/search"):  # Nominatim
            body: object = (
                []
                if hit is None
                else [{"lat": str(hit[0]), "lon": str(hit[1]), "display_name": hit[2], "place_id": 1}]
            )
        elif parts.path.endswith("/api"):  # Photon (GeoJSON)
            body = {
                "type": "FeatureCollection",
                "features": []
                if hit is None
                else [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [hit[1], hit[0]]},
                        "properties": {"name": hit[2]},
                    }
                ],
            }
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


async def test_nominatim_finds_an_address(server: str) -> None:
    geo = GeopyGeocoder(server)
    point = await geo.geocode("12 Lê Lợi, Phường Mỹ Tho")
    assert point is not None and (point.lat, point.lon) == (10.36, 106.365) and point.source == "geocoder"
    assert point.label and "Mỹ Tho" in point.label
    last = Handler.seen[-1]
    assert last["path"] == ["/search"] and last["countrycodes"] == ["vn"] and last["format"] == ["json"]
    assert await geo.geocode("nowhere at all") is None


async def test_photon_finds_an_address(server: str) -> None:
    point = await GeopyGeocoder("photon+" + server).geocode("12 Lê Lợi, Phường Mỹ Tho")
    assert point is not None and (point.lat, point.lon) == (10.36, 106.365)


async def test_unreachable_geocoder_is_not_an_error() -> None:
    geo = GeopyGeocoder("http://127.0.0.1:9", timeout=1)
    assert await geo.geocode("12 Lê Lợi") is None


def test_configuration() -> None:
    assert isinstance(geocoder_for(""), NoGeocoder)
    with pytest.raises(ValueError):
        GeopyGeocoder("ftp://example")
    with pytest.raises(ValueError):
        GeopyGeocoder("magic+http://127.0.0.1:1")
