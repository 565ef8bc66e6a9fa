"""What ``GET /health`` reports beyond "the database takes a query": the demo history's loading state, read
from ``demo_history`` (``schemas/ops.py``; written by ``backend/demo/background.py``). One query on a table of
at most a row per demo province, which is also the database check. A database not yet migrated that far
(a rolling upgrade, a bare database) has no demo history: ``absent``, and ``SELECT 1`` is the check."""

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from schemas.ops import DemoHistory, DemoHistoryStatus

_TABLE = DemoHistory.__table__  # type: ignore[attr-defined]
_has_table: dict[str, bool] = {}  # per database: looked up once (a migration adds it while none runs)


async def demo_history(conn: AsyncConnection) -> DemoHistoryStatus:
    """No row: ``absent``; any province's load failed: ``failed``; any still loading: ``loading``; else
    ``done``; counts summed over the provinces."""
    key = conn.engine.url.render_as_string(hide_password=True)
    present = _has_table.get(key)
    if present is None:
        present = await conn.run_sync(lambda sync: sa.inspect(sync).has_table(_TABLE.name))
        _has_table[key] = present
    if not present:
        await conn.execute(sa.text("SELECT 1"))
        return DemoHistoryStatus(state="absent")
    rows = (
        await conn.execute(sa.select(_TABLE.c.state, _TABLE.c.dossiers_written, _TABLE.c.dossiers_planned))
    ).all()
    if not rows:
        return DemoHistoryStatus(state="absent")
    states = {r.state for r in rows}
    state = next((s for s in ("failed", "loading") if s in states), "done")
    return DemoHistoryStatus(
        state=state,  # type: ignore[arg-type]
        dossiers_written=sum(r.dossiers_written for r in rows),
        dossiers_planned=sum(r.dossiers_planned for r in rows),
    )
