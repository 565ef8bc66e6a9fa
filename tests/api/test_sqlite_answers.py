"""Stored public answers on SQLite (issue 24, backend/lib/sqlite_watch.py): a change written by someone else
(another process; here a plain sqlite3 connection, as the sqlite3 shell would) shows in the next tracking read
within the watch's poll, long before the 1.5 s an answer could live before; without a change the answer is served
from the store. SQLite only. Own phone number +84920000096.
"""

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest
from litestar import Litestar

from backend.lib import answer_cache, sqlite_watch
from tests.api.test_custody_journey import pickup

COURIER = "courier23"


async def test_a_foreign_write_shows_in_the_next_tracking_read(
    client: httpx.AsyncClient, app: Litestar, db_kind: str
) -> None:
    if db_kind != "sqlite":
        pytest.skip("the SQLite watch")
    item = (await pickup(client, "+84920000096", courier=COURIER))["item_id"]
    url = f"/api/v1/track/{item}"
    first = await client.get(url)
    assert first.status_code == 200, first.text
    await asyncio.sleep(sqlite_watch.POLL_S * 1.5)
    db = answer_cache.db_of(app)
    assert answer_cache.lookup(db, ("public", url, b"")) is not None, "stored, and nothing changed since"
    assert (await client.get(url)).content == first.content

    path: Any = app.state.engine.url.database
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute(
            "UPDATE organisation SET name = name || ' (renamed)' WHERE id IN "
            "(SELECT org_id FROM dossier_event WHERE dossier_id = (SELECT id FROM dossier WHERE item_id = ?))",
            (item,),
        )
    finally:
        other.close()
    await asyncio.sleep(sqlite_watch.POLL_S * 1.5)
    after = await client.get(url)
    assert after.status_code == 200
    assert after.headers["etag"] != first.headers["etag"], "the foreign write dropped the stored answer"
    assert any("(renamed)" in (step["place"] or "") for step in after.json()["timeline"])
