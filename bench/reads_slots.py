"""``GET /slots`` for one address in ``bench.reads`` (issue 24: "public ``GET /slots`` for one address 121 req/s"),
as a plain GET (200) and revalidated with ``If-None-Match`` (304), against the same production-style service and
beside the same bare endpoint as the other reads (``python -m bench.reads --only "GET /slots,GET /slots 304"``).

The address is the centre of the first commune a post office serves, so the answer lists real windows. What a
new address costs (every request a miss) is ``bench.reads_app``'s row "a new address each": this harness warms
every target before it measures.
"""

import httpx

from bench.drills import common
from bench.reads import Context, Target, register

SERVED = (
    "SELECT c.lat AS lat, c.lon AS lon FROM post_office_commune p JOIN commune c ON c.code = p.commune_code "
    "ORDER BY p.commune_code LIMIT 1"
)


async def _target(ctx: Context) -> str:
    if "slots" not in ctx.cache:
        rows = await common.fetch(ctx.db_url, SERVED)
        ctx.cache["slots"] = (
            f"/api/v1/slots?kind=pickup&lat={rows[0]['lat']}&lon={rows[0]['lon']}" if rows else ""
        )
    target: str = ctx.cache["slots"]
    return target


async def _slots(ctx: Context) -> list[Target]:
    target = await _target(ctx)
    return [(target, {})] if target else []


async def _slots_304(ctx: Context) -> list[Target]:
    target = await _target(ctx)
    if not target:
        return []
    async with httpx.AsyncClient(base_url=ctx.base) as c:
        r = await c.get(target)
        r.raise_for_status()
    return [(target, {"If-None-Match": r.headers["etag"]})]


register("GET /slots", _slots)
register("GET /slots 304", _slots_304)
