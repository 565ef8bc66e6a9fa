"""A plan drawn as SVG: its routes over the province's communes."""

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.lib.auth import Principal
from backend.planning import mapsvg
from backend.planning.services.reading import plan_detail
from schemas.orgs import Organisation
from schemas.planning import PlanRoute
from schemas.units import Commune


async def plan_map(session: AsyncSession, principal: Principal, plan_id: uuid.UUID) -> str:
    detail = await plan_detail(session, principal, plan_id)
    po = await session.get(Organisation, detail["post_office_id"])
    assert po is not None
    communes = (
        await session.exec(select(Commune.lat, Commune.lon).where(Commune.province_code == po.province_code))
    ).all()
    routes = []
    for r in detail["routes"]:
        start = await session.get(PlanRoute, r["id"])
        assert start is not None
        points = [(start.start_lat, start.start_lon), *((s["lat"], s["lon"]) for s in r["stops"])]
        points.append((start.end_lat, start.end_lon))
        label = r["courier"]["name"] or r["courier"]["username"] or str(r["courier"]["id"])
        routes.append(
            mapsvg.MapRoute(label=label, colour=r["colour"], points=points, stop_count=len(r["stops"]))
        )
    title = f"{po.code} · {detail['date']} · {detail['status']}"
    return mapsvg.render(
        mapsvg.MapInput(
            title=title,
            depot=(po.lat, po.lon),
            routes=routes,
            unassigned=[(u["lat"], u["lon"]) for u in detail["unassigned"]],
            background=[(a, b) for a, b in communes],
        )
    )
