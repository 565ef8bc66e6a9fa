"""Stored public answers on SQLite (issue 24, backend/lib/sqlite_watch.py): a change written by someone else
(another process; here a plain sqlite3 connection, as the sqlite3 shell would) shows in the next tracking read
within the watch's poll, long before the 1.5 s an answer could live before; without a change the answer is served
from the store. SQLite only. Own phone number +84920000096.
"""

import asyncio
import sqlite3

import asyncpg
import httpx
from litestar import Litestar

from backend.lib import answer_cache, sqlite_watch
from tests.api.test_custody_journey import pickup

COURIER = "courier23"


async def test_a_foreign_write_shows_in_the_next_tracking_read(
    client: httpx.AsyncClient, app: Litestar, db_kind: str
) -> None:
    item = (await pickup(client, "+84920000096", courier=COURIER))["item_id"]
    url = f"/api/v1/track/{item}"
    first = await client.get(url)
    assert first.status_code == 200, first.text
    await asyncio.sleep(sqlite_watch.POLL_S * 1.5)
    db = answer_cache.db_of(app)
    assert answer_cache.lookup(db, ("public", url, b"")) is not None, "stored, and nothing changed since"
    assert (await client.get(url)).content == first.content

    await _rename_elsewhere(app, item)
    after = first
    for _ in range(50):  # SQLite: the watch's next poll; PostgreSQL: the NOTIFY's delivery
        await asyncio.sleep(sqlite_watch.POLL_S * 1.5)
        after = await client.get(url)
        if after.headers.get("etag") != first.headers["etag"]:
            break
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"], "the foreign write dropped the stored answer"
    assert any("(renamed)" in (step["place"] or "") for step in after.json()["timeline"])


RENAME = (
    "UPDATE organisation SET name = name || ' (renamed)' WHERE id IN "
    "(SELECT org_id FROM dossier_event WHERE dossier_id = (SELECT id FROM dossier WHERE item_id = {item}))"
)


async def _rename_elsewhere(app: Litestar, item: str) -> None:
    """Renames the dossier's organisations through a connection the service knows nothing of."""
    url = app.state.engine.url
    if url.get_backend_name() == "sqlite":
        other = sqlite3.connect(url.database, isolation_level=None)
        try:
            other.execute(RENAME.format(item="?"), (item,))
        finally:
            other.close()
        return
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        await conn.execute(RENAME.format(item="$1"), item)
    finally:
        await conn.close()
