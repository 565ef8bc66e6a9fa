"""What a stored tracking answer saves on SQLite (issue 24): ``python -m bench.answer_miss [--rounds 2]``.

The app in this process (no HTTP server, no client library: raw ASGI calls, so the figures are the app's own) on a
throwaway SQLite file holding the whole demo (``bench/drills/common.py``), ``GET /track/{id}`` for 200 dossiers:

* ``miss``: the answer store emptied before each request: the middleware finds nothing, the handler loads the
  dossier, its events and offices, validates and renders the answer, and stores it;
* ``hit``: the same requests with every answer stored: the middleware answers from the store.

CPU (this process's user + system time) and wall time per request. A miss is what every stored answer cost once
per ``SHORT_TTL_S`` (1.5 s) on SQLite before the file's ``data_version`` was watched (backend/lib/sqlite_watch.py):
200 answers then reloaded about 150 times a second whatever changed.
"""

import argparse
import asyncio
import logging
import tempfile
import time
from typing import Any

from bench.drills import common


async def call(app: Any, path: str) -> int:
    """One GET through the app's ASGI callable; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def main(args: argparse.Namespace) -> None:
    from backend.app import create_app
    from backend.lib import answer_cache
    from backend.settings import Settings
    from tests.conftest import lifespan

    with tempfile.TemporaryDirectory(prefix="bench-miss-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/miss.db"
        await common.prepare(url, full=True)
        rows = await common.fetch(url, "SELECT item_id FROM dossier ORDER BY item_id LIMIT 200")
        paths = [f"/api/v1/track/{r['item_id']}" for r in rows]
        lifted = Settings(database_url=url, public_rate_per_s=1e9, public_rate_burst=10**9)  # type: ignore[call-arg]
        app = create_app(lifted)
        async with lifespan(app):
            for path in paths:
                assert await call(app, path) == 200
            for _ in range(args.rounds):
                for label in ("miss", "hit"):
                    for path in paths:
                        await call(app, path)  # every answer stored
                    cpu0, wall0 = time.process_time(), time.perf_counter()
                    for path in paths:
                        if label == "miss":
                            answer_cache.clear()
                        assert await call(app, path) == 200
                    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                    print(
                        f"{label:<5} {cpu / len(paths) * 1000:7.3f} ms CPU {wall / len(paths) * 1000:7.3f} ms wall"
                        f" per request ({len(paths)} dossiers)",
                        flush=True,
                    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--rounds", type=int, default=2)
    return p.parse_args(argv)


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)  # the app's request logs would be most of what is measured
    asyncio.run(main(parse()))
