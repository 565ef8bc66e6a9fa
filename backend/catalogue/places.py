"""A place -> the commune it is in -> the post office serving that commune.

Communes carry a centroid and an area, not a boundary, so "in" means: the nearest commune centroid among
the communes of provinces that have post offices, provided the point lies within a reasonable radius of it
(1.6 x the radius of a disc of the commune's area, at least 4 km). Points farther away, or in a commune no
post office serves, are refused with a 422 that says which.

The served area is reference data: it is read once and kept for ``TTL_S`` seconds per database. It is built
from the catalogue's communes and post offices, and accounts (a citizen's saved address), booking and custody
all locate places, so it lives here, below them (issue 18).
"""

import math
import unicodedata
import uuid
from dataclasses import dataclass, field

import numpy as np
from geopy.distance import great_circle
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import db_key
from backend.lib.problems import Problem
from backend.lib.ttlcache import TtlCache
from schemas.orgs import Organisation, PostOfficeCommune
from schemas.units import Commune

TTL_S = 300.0
MIN_RADIUS_KM = 4.0
RADIUS_FACTOR = 1.6
EARTH_KM = 6371.0088


@dataclass(frozen=True)
class Place:
    commune_code: str
    commune_name: str
    province_code: str
    post_office_id: uuid.UUID | None
    distance_km: float  # to the commune centroid


@dataclass
class ServedArea:
    codes: list[str]
    names: list[str]
    provinces: list[str]
    lat: np.ndarray
    lon: np.ndarray
    radius_km: np.ndarray
    post_office_of: dict[str, uuid.UUID]
    folded_names: list[tuple[str, int]]  # (folded short name, index), longest first
    # Centroids in radians and their latitude cosines, computed once: every listing and booking locates a point.
    lat_rad: np.ndarray = field(init=False)
    lon_rad: np.ndarray = field(init=False)
    cos_lat: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.lat_rad, self.lon_rad = np.radians(self.lat), np.radians(self.lon)
        self.cos_lat = np.cos(self.lat_rad)


_areas: TtlCache[str, ServedArea] = TtlCache(TTL_S)


def invalidate() -> None:
    """Forget the cached served area (after changing post offices or their communes)."""
    _areas.clear()


def fold(text: str) -> str:
    """Lower case without Vietnamese diacritics, for matching typed commune names."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


async def served_area(session: AsyncSession) -> ServedArea:
    """The communes served by post offices, with their centroids (cached ``TTL_S``, one load at a time)."""
    return await _areas.get_or_load(db_key(session), lambda: _load_area(session))


async def _load_area(session: AsyncSession) -> ServedArea:
    links = (  # offices in service only (issue 23): a deactivated one is offered nowhere
        await session.exec(
            select(PostOfficeCommune.commune_code, PostOfficeCommune.post_office_id)
            .join(Organisation, col(Organisation.id) == col(PostOfficeCommune.post_office_id))
            .where(col(Organisation.active).is_(True))
        )
    ).all()
    post_office_of = {code: po for code, po in links}
    provinces = (
        await session.exec(
            select(Organisation.province_code).where(col(Organisation.id).in_(set(post_office_of.values())))
        )
    ).all()
    communes = list(
        (
            await session.exec(
                select(Commune).where(col(Commune.province_code).in_(set(provinces))).order_by(Commune.code)
            )
        ).all()
    )
    radius = [max(MIN_RADIUS_KM, RADIUS_FACTOR * math.sqrt((c.area_km2 or 0.0) / math.pi)) for c in communes]
    folded = sorted(
        ((fold(c.short_name), i) for i, c in enumerate(communes) if c.short_name),
        key=lambda t: -len(t[0]),
    )
    return ServedArea(
        codes=[c.code for c in communes],
        names=[c.name for c in communes],
        provinces=[c.province_code for c in communes],
        lat=np.array([c.lat for c in communes], dtype=float),
        lon=np.array([c.lon for c in communes], dtype=float),
        radius_km=np.array(radius, dtype=float),
        post_office_of=post_office_of,
        folded_names=folded,
    )


def _haversine_km(area: ServedArea, lat: float, lon: float) -> np.ndarray:
    """Distance from the point to every centroid of the area."""
    p1 = math.radians(lat)
    a = (
        np.sin((area.lat_rad - p1) / 2) ** 2
        + math.cos(p1) * area.cos_lat * np.sin((area.lon_rad - math.radians(lon)) / 2) ** 2
    )
    return np.asarray(2 * EARTH_KM * np.arcsin(np.sqrt(a)))


def check_coordinates(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise Problem(422, "Tọa độ không hợp lệ / Malformed coordinates", code="invalid_coordinates")


def locate(area: ServedArea, lat: float, lon: float) -> Place:
    """The served commune containing the point, or a 422 problem."""
    check_coordinates(lat, lon)
    if not area.codes:
        raise Problem(
            422, "Chưa có bưu cục nhận hẹn / No post office takes bookings", code="outside_service_area"
        )
    dist = _haversine_km(area, lat, lon)
    i = int(np.argmin(dist))
    if dist[i] > area.radius_km[i]:
        raise Problem(
            422,
            "Địa điểm nằm ngoài khu vực phục vụ của bưu điện / The place is outside the area served",
            code="outside_service_area",
            extra={"lat": lat, "lon": lon},
        )
    code = area.codes[i]
    return Place(code, area.names[i], area.provinces[i], area.post_office_of.get(code), float(dist[i]))


def served_place(area: ServedArea, lat: float, lon: float) -> Place:
    place = locate(area, lat, lon)
    if place.post_office_id is None:
        raise Problem(
            422,
            f"{place.commune_name} chưa có bưu cục nhận hẹn tại nhà / "
            f"No post office offers home appointments in {place.commune_name}",
            code="commune_not_served",
            extra={"commune": place.commune_code},
        )
    return place


def commune_in_text(area: ServedArea, text: str) -> int | None:
    """Index of the commune whose name appears in a typed address (longest name wins), else None."""
    folded = fold(text)
    for name, i in area.folded_names:
        if len(name) >= 3 and name in folded:
            return i
    return None


_SPHERE = great_circle()  # one instance; measure() answers in km


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Great-circle distance for fee zones (tariff zones are kilometres apart; the sphere is within 0.5 % of
    the WGS-84 geodesic, which cost ~0.2 ms a call in pure Python on every slot listing and booking)."""
    return float(_SPHERE.measure((a_lat, a_lon), (b_lat, b_lon)))
