"""Demo: a few hundred past dossiers "from the previous one-stop system", loaded through the real importer (the
path a province's own file takes); the two years of history beside them are written in bulk by
``backend/demo/history.py``. Same channel mix and on-time rate as the history."""

import random
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.catalogue.calendar import default_calendar
from backend.demo.province import DemoContext
from backend.reporting.importer import HEADER_LINE, import_dossiers
from schemas.base import utcnow
from schemas.catalogue import Procedure
from schemas.enums import AgencyLevel
from schemas.vntime import VN_TZ, vn_date

DEMO_ROWS = 300


def demo_csv(ctx: DemoContext, procedures: list[Procedure], rows: int = DEMO_ROWS, seed: int = 7) -> str:
    rng = random.Random(seed)
    cal = default_calendar()
    now = utcnow()
    desks = [d for d in [ctx.provincial_desk, *ctx.commune_desks.values()] if d is not None]
    provincial = [a for code, a in ctx.agencies.items() if not code.isdigit()]
    lines = [HEADER_LINE + ",desk_code,paused_working_days"]
    for n in range(rows):
        proc = rng.choice(procedures)
        desk = rng.choice(desks)
        if proc.level == AgencyLevel.commune:
            agency = ctx.agencies.get(desk.commune_code) or rng.choice(list(ctx.agencies.values()))
        else:
            agency = rng.choice(provincial)
        day = cal.next_working_day(vn_date(now - timedelta(days=rng.randint(20, 400))))
        received = datetime(
            day.year, day.month, day.day, rng.randint(7, 16), rng.randint(0, 59), tzinfo=VN_TZ
        )
        due = cal.due_at(received, proc.processing_days)
        paused = rng.choice([1, 2, 3]) if rng.random() < 0.05 else 0
        channel = rng.choices(["online", "direct", "postal"], weights=[18, 62, 20])[0]
        pickup = int(channel == "postal" and rng.random() < 0.6)
        resolved = returned = ""
        roll = rng.random()
        if roll > 0.04:
            shift = rng.randint(-4, -1) if roll < 0.6 else (0 if roll < 0.995 else rng.randint(1, 8))
            target = cal.add_days(vn_date(due), paused) + timedelta(days=shift)
            at = max(received, datetime(target.year, target.month, target.day, 10, tzinfo=VN_TZ))
            if at < now:
                resolved = at.isoformat()
                back = at + timedelta(days=rng.randint(0, 3))
                returned = back.isoformat() if back < now and rng.random() < 0.9 else ""
        lines.append(
            ",".join(
                [
                    f"MC-{day.year}-{n:06d}",
                    proc.code,
                    agency.code,
                    channel,
                    str(pickup),
                    str(int(rng.random() < 0.25)),
                    received.isoformat(),
                    due.isoformat(),
                    resolved,
                    returned,
                    desk.code,
                    str(paused),
                ]
            )
        )
    return "\n".join(lines) + "\n"


async def seed(session: AsyncSession, ctx: DemoContext) -> None:
    procedures = list((await session.exec(select(Procedure).order_by(Procedure.code))).all())
    if not procedures or ctx.provincial_desk is None:
        return
    await import_dossiers(session, demo_csv(ctx, procedures), source="demo-he-thong-cu.csv")
