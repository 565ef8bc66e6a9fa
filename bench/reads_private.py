"""The app-facing private reads in ``bench.reads`` (issue 24): the courier's route and a citizen's inbox, each
as a plain GET (200) and revalidated with ``If-None-Match`` (304), against the same production-style service and
beside the same bare endpoint as the public reads (``python -m bench.reads --only route,inbox``).

courier01 reads the first day of the next ten with a published route (the demo publishes one); citizen
0900000001 reads the first page of their inbox. Both sign in through the API first.
"""

from datetime import date, timedelta

import httpx

from bench.reads import Context, Target, register

PASSWORD = "demo1234"  # bench/drills/common.py seeds the demo with it


async def _courier(ctx: Context) -> dict[str, str]:
    if "courier" not in ctx.cache:
        async with httpx.AsyncClient(base_url=ctx.base) as c:
            r = await c.post("/api/v1/auth/staff/login", json={"username": "courier01", "password": PASSWORD})
            r.raise_for_status()
            ctx.cache["courier"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    headers: dict[str, str] = ctx.cache["courier"]
    return headers


async def _citizen(ctx: Context) -> dict[str, str]:
    if "citizen" not in ctx.cache:
        async with httpx.AsyncClient(base_url=ctx.base) as c:
            r = await c.post("/api/v1/auth/citizen/verify", json={"phone": "0900000001", "code": "123456"})
            r.raise_for_status()
            ctx.cache["citizen"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    headers: dict[str, str] = ctx.cache["citizen"]
    return headers


async def _route_target(ctx: Context) -> str:
    headers = await _courier(ctx)
    async with httpx.AsyncClient(base_url=ctx.base, headers=headers) as c:
        today = (await c.get("/api/v1/couriers/me/route")).json()
        first = date.fromisoformat(today["date"])
        for ahead in range(11):
            day = (first + timedelta(days=ahead)).isoformat()
            if (await c.get(f"/api/v1/couriers/me/route?date={day}")).json()["published"]:
                return f"/api/v1/couriers/me/route?date={day}"
    return "/api/v1/couriers/me/route"


async def _with_etag(ctx: Context, target: str, headers: dict[str, str]) -> list[Target]:
    async with httpx.AsyncClient(base_url=ctx.base, headers=headers) as c:
        r = await c.get(target)
        r.raise_for_status()
    return [(target, {**headers, "If-None-Match": r.headers["etag"]})]


async def _route(ctx: Context) -> list[Target]:
    return [(await _route_target(ctx), await _courier(ctx))]


async def _route_304(ctx: Context) -> list[Target]:
    return await _with_etag(ctx, await _route_target(ctx), await _courier(ctx))


async def _inbox(ctx: Context) -> list[Target]:
    return [("/api/v1/notifications", await _citizen(ctx))]


async def _inbox_304(ctx: Context) -> list[Target]:
    return await _with_etag(ctx, "/api/v1/notifications", await _citizen(ctx))


register("GET /couriers/me/route", _route)
register("GET /couriers/me/route 304", _route_304)
register("GET /notifications", _inbox)
register("GET /notifications 304", _inbox_304)
