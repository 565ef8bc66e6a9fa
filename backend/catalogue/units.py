"""Loads the 2025 two-level administrative units from the ``vietnamadminunits`` package.

Provenance: ``vietnamadminunits`` (PyPI, version pinned in pyproject.toml) ships ``data/dataset.db`` whose table
``admin_units`` lists the 34 provinces and 3,321 communes in force since 1 Jul 2025 (Resolution 202/2025/QH15 on
provinces; the National Assembly Standing Committee's resolutions on communes; list codes per Decision
19/2025/QĐ-TTg), with centroids (lat/lon) and areas.
"""

import sqlite3
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import vietnamadminunits

SOURCE = f"vietnamadminunits {metadata.version('vietnamadminunits')} data/dataset.db table admin_units"


@dataclass(frozen=True)
class UnitRow:
    province_code: str
    province: str
    province_short: str
    province_lat: float
    province_lon: float
    commune_code: str
    commune: str
    commune_short: str
    commune_kind: str
    lat: float
    lon: float
    area_km2: float | None


def _dataset() -> Path:
    return Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"


def read_units() -> list[UnitRow]:
    with sqlite3.connect(f"file:{_dataset()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT provinceCode, province, provinceShort, provinceLat, provinceLon, wardCode, ward, wardShort,"
            " wardType, wardLat, wardLon, wardAreaKm2 FROM admin_units ORDER BY provinceCode, wardCode"
        ).fetchall()
    return [UnitRow(*r) for r in rows]
