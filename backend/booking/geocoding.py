"""Typed addresses -> coordinates.

Coordinates from the app (GPS or a map pin) are the norm. A typed address goes to a geocoder built on
geopy: a self-hosted Nominatim (default) or Photon at ``GEOCODER_URL`` (``http://host:port[/path]``;
prefix ``photon+`` for Photon, e.g. ``photon+http://127.0.0.1:2322``). Without a configured geocoder, or
when it finds nothing, the address falls back to the centroid of the commune named in it (see
``backend.catalogue.places.commune_in_text``), which is enough to pick the serving post office.
"""

import asyncio
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from geopy.exc import GeopyError
from geopy.geocoders import Nominatim, Photon
from geopy.geocoders.base import Geocoder as GeopyBase

log = logging.getLogger("backend.booking.geocoding")
USER_AGENT = "hoso-buudien/0.1 (postal carriage of administrative dossiers)"


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float
    source: str  # "geocoder" or "commune_centroid"
    label: str | None = None


@runtime_checkable
class Geocoder(Protocol):
    async def geocode(self, address: str) -> GeoPoint | None: ...


class NoGeocoder:
    """The embedded default: nothing to ask; callers fall back to the commune centroid."""

    async def geocode(self, address: str) -> GeoPoint | None:
        return None


class GeopyGeocoder:
    """A geopy geocoder (Nominatim or Photon) at a self-hosted URL. geopy's default adapters are blocking,
    so calls run in a worker thread."""

    def __init__(self, url: str, *, timeout: float = 5.0, country: str = "vn") -> None:
        kind = "nominatim"
        if "+" in url.split("://", 1)[0]:
            kind, url = url.split("+", 1)
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(f"GEOCODER_URL must be http(s)://host[:port][/path], got {url!r}")
        domain = parts.netloc + parts.path.rstrip("/")
        self.country = country
        self.kind = kind.lower()
        self._geo: GeopyBase
        if self.kind == "nominatim":
            self._geo = Nominatim(domain=domain, scheme=parts.scheme, user_agent=USER_AGENT, timeout=timeout)
        elif self.kind == "photon":
            self._geo = Photon(domain=domain, scheme=parts.scheme, user_agent=USER_AGENT, timeout=timeout)
        else:
            raise ValueError(f"unknown geocoder {kind!r} (nominatim, photon)")

    def _lookup(self, address: str) -> GeoPoint | None:
        if isinstance(self._geo, Nominatim):
            found = self._geo.geocode(address, exactly_one=True, country_codes=self.country)
        else:
            found = self._geo.geocode(address, exactly_one=True)
        if found is None:
            return None
        return GeoPoint(float(found.latitude), float(found.longitude), "geocoder", found.address)

    async def geocode(self, address: str) -> GeoPoint | None:
        try:
            return await asyncio.to_thread(self._lookup, address)
        except GeopyError as exc:
            # An unreachable geocoder must not stop a booking: the commune centroid still works.
            log.warning("geocoder failed for an address: %s", exc)
            return None


@lru_cache(maxsize=8)
def geocoder_for(url: str) -> Geocoder:
    return GeopyGeocoder(url) if url else NoGeocoder()
