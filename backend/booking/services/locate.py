"""Where a visit is: the app's coordinates, else the typed address through the geocoder, else its commune's
centroid."""

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.booking.geocoding import Geocoder, GeoPoint, NoGeocoder
from backend.catalogue import places
from backend.lib.problems import Problem


class _Geocoded:
    """A geocoder's answer for one address, asked before the request's transaction opened; other addresses go
    to the geocoder itself."""

    def __init__(self, geocoder: Geocoder, address: str, point: GeoPoint | None) -> None:
        self.geocoder, self.address, self.point = geocoder, address, point

    async def geocode(self, address: str) -> GeoPoint | None:
        if address == self.address:
            return self.point
        return await self.geocoder.geocode(address)


async def geocode_first(
    geocoder: Geocoder | None, lat: float | None, lon: float | None, address: str | None
) -> Geocoder:
    """Ask the geocoder for a typed address now, before any database access: on SQLite every transaction
    holds the write lock (``BEGIN IMMEDIATE``), and a network call inside one stopped every other writer for as
    long as the geocoder took (issue 17). ``resolve_point`` then gets the answer from memory."""
    geocoder = geocoder or NoGeocoder()
    if lat is None and lon is None and address and address.strip():
        return _Geocoded(geocoder, address.strip(), await geocoder.geocode(address.strip()))
    return geocoder


async def resolve_point(
    session: AsyncSession,
    area: places.ServedArea,
    geocoder: Geocoder,
    lat: float | None,
    lon: float | None,
    address: str | None,
) -> tuple[float, float, str]:
    """Coordinates from the app, else the typed address through the geocoder, else its commune's centroid."""
    if lat is not None and lon is not None:
        places.check_coordinates(lat, lon)
        return lat, lon, "coordinates"
    if lat is not None or lon is not None:
        raise Problem(
            422, "Cần cả vĩ độ và kinh độ / Both lat and lon are needed", code="invalid_coordinates"
        )
    if not address or not address.strip():
        raise Problem(422, "Cần tọa độ hoặc địa chỉ / Coordinates or an address are needed", code="no_place")
    point = await geocoder.geocode(address.strip())
    if point is not None:
        return point.lat, point.lon, "geocoder"
    i = places.commune_in_text(area, address)
    if i is None:
        raise Problem(
            422,
            "Không xác định được vị trí từ địa chỉ; hãy chọn trên bản đồ / "
            "Could not place the address; pick the place on the map",
            code="address_not_found",
        )
    return float(area.lat[i]), float(area.lon[i]), "commune_centroid"
