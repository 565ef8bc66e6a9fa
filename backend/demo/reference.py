"""Reference data every installation needs: administrative units, the procedure catalogue, calendar overrides.

Idempotent: rows already present are updated in place, never duplicated.
"""

import json
import logging
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.units import read_units
from schemas.catalogue import CalendarOverride, Procedure
from schemas.units import Commune, Province

log = logging.getLogger("backend.seed")
DATA = Path(__file__).resolve().parent.parent / "catalogue" / "data"


async def load_units(session: AsyncSession) -> tuple[int, int]:
    rows = read_units()
    have_p = (await session.exec(select(func.count()).select_from(Province))).one()
    have_c = (await session.exec(select(func.count()).select_from(Commune))).one()
    provinces = {r.province_code: r for r in rows}
    if have_p == len(provinces) and have_c == len(rows):
        return have_p, have_c
    for code, r in provinces.items():
        await session.merge(
            Province(
                code=code,
                name=r.province,
                short_name=r.province_short,
                lat=r.province_lat,
                lon=r.province_lon,
            )
        )
    await session.flush()
    for r in rows:
        await session.merge(
            Commune(
                code=r.commune_code,
                name=r.commune,
                short_name=r.commune_short,
                kind=r.commune_kind,
                province_code=r.province_code,
                lat=r.lat,
                lon=r.lon,
                area_km2=r.area_km2,
            )
        )
    await session.flush()
    return len(provinces), len(rows)


def _documents(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    docs = []
    for i, d in enumerate(raw, start=1):
        docs.append(
            {
                "id": str(d.get("id") or f"d{i}"),
                "name": d["name"],
                "name_en": d.get("name_en"),
                "original": bool(d.get("original", False)),
                "quantity": int(d.get("quantity", 1)),
                "optional": bool(d.get("optional", False)),
            }
        )
    return docs


def _procedure_rows() -> list[dict[str, Any]]:
    path = DATA / "procedures.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["procedures"] if isinstance(data, dict) else data


async def load_procedures(session: AsyncSession) -> int:
    existing = {p.code: p for p in (await session.exec(select(Procedure)))}
    rows = _procedure_rows()
    for row in rows:
        values = {
            "name": row["name"],
            "name_en": row.get("name_en"),
            "field": row["field"],
            "level": row["level"],
            "processing_days": float(row["processing_days"]),
            "fee": int(row.get("fee") or 0),
            "charge": int(row.get("charge") or 0),
            "postal_pickup": bool(row.get("postal_pickup", True)),
            "postal_return": bool(row.get("postal_return", True)),
            "legal_basis": (row.get("legal_basis") or None) and str(row.get("legal_basis"))[:600],
            "documents": _documents(row.get("documents", [])),
            "code_verified": bool(row.get("code_verified", True)),
        }
        proc = existing.get(row["code"])
        if proc is None:
            session.add(Procedure(code=row["code"], **values))
        else:
            for key, value in values.items():
                setattr(proc, key, value)
    await session.flush()
    return len(rows)


def _override_rows() -> list[dict[str, Any]]:
    path = DATA / "calendar_overrides.json"
    if not path.exists():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["overrides"] if isinstance(data, dict) else data


async def load_calendar_overrides(session: AsyncSession) -> int:
    rows = _override_rows()
    for row in rows:
        await session.merge(
            CalendarOverride(
                day=date.fromisoformat(row["date"]),
                kind=row["kind"],
                note=str(row.get("note", ""))[:300],
                source=str(row.get("source", ""))[:300],
            )
        )
    await session.flush()
    return len(rows)


async def load_reference(session: AsyncSession) -> dict[str, int]:
    provinces, communes = await load_units(session)
    procedures = await load_procedures(session)
    overrides = await load_calendar_overrides(session)
    await session.commit()
    return {
        "provinces": provinces,
        "communes": communes,
        "procedures": procedures,
        "calendar_overrides": overrides,
    }
