"""``python -m bench.drills [NAME ...]`` (``make drills``): the fault drills, then their table.

Every drill runs the service as production does (``python -m backend serve``: Granian workers) against one
throwaway PostgreSQL database holding the whole demo (``make run``'s data), created and dropped here; Redis on
127.0.0.1:6379 db ``DRILL_REDIS_DB`` (13) or a private ``redis-server`` the drill starts. Exit status 1 if a
drill failed. Names, in the order they run: kill, redis, upload, pgcut, pgrestart (a private cluster made with
initdb, restarted with pg_ctl), providers (FCM, Zalo and eSMS fakes answering 500/429 for a minute), backup
(default: all). SIGTERM or Ctrl-C stops the drills and still drops the database.
"""

import argparse
import asyncio
import json
import signal
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable

from bench.drills import (
    backup_restore,
    common,
    kill_worker,
    pg_real_restart,
    pg_restart,
    providers,
    redis_down,
    upload_full,
)

DRILLS: dict[str, Callable[[str, str], Awaitable[common.Outcome]]] = {
    "kill": lambda url, name: kill_worker.run_on(url),
    "redis": lambda url, name: redis_down.run_on(url),
    "upload": lambda url, name: upload_full.run_on(url),
    "pgcut": lambda url, name: pg_restart.run_on(url),
    "pgrestart": lambda url, name: pg_real_restart.run_on(url),
    "providers": lambda url, name: providers.run_on(url),
    "backup": backup_restore.run_on,  # last: the database then holds every earlier drill's writes
}
WIDTHS = (20, 34, 34, 40, 4, 34)


def table(rows: list[common.Outcome]) -> str:
    head = ("drill", "what was done", "expected", "observed", "pass", "figures")
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, WIDTHS, strict=True))]
    lines.append("-+-".join("-" * w for w in WIDTHS))
    for r in rows:
        cells = (
            r.drill,
            r.done,
            r.expected,
            r.observed,
            "PASS" if r.passed else "FAIL",
            json.dumps(r.figures),
        )
        wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, WIDTHS, strict=True)]
        for i in range(max(len(w) for w in wrapped)):
            lines.append(
                " | ".join(
                    (w[i] if i < len(w) else "").ljust(n) for w, n in zip(wrapped, WIDTHS, strict=True)
                )
            )
        lines.append("-+-".join("-" * w for w in WIDTHS))
    return "\n".join(lines)


async def main(names: list[str]) -> int:
    rows: list[common.Outcome] = []
    began = time.monotonic()
    async with common.database(full=True) as (url, name):
        print(f"drill database {name} ready in {time.monotonic() - began:.1f} s", flush=True)
        for failed in common.SLICES_FAILED:
            print(f"  demo slice not loaded: {failed}", flush=True)
        for key in names:
            started = time.monotonic()
            try:
                row = await DRILLS[key](url, name)
            except Exception as exc:  # a drill that cannot finish is a failed drill, reported like the others
                row = common.Outcome(key, "-", "-", f"drill crashed: {type(exc).__name__}: {exc}", False)
            row.figures["drill_s"] = round(time.monotonic() - started, 1)
            print(f"{row.drill}: {'PASS' if row.passed else 'FAIL'} ({row.figures['drill_s']} s)", flush=True)
            rows.append(row)
    print()
    print(table(rows))
    return 0 if all(r.passed for r in rows) else 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # asyncio.run cancels the drills; ``common.database`` drops the database


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(prog="python -m bench.drills", description=__doc__.split("\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"drills to run: {', '.join(DRILLS)} (default all)"
    )
    args = parser.parse_args()
    unknown = [n for n in args.names if n not in DRILLS]
    if unknown:
        parser.error(f"unknown drill {', '.join(unknown)}; choose from {', '.join(DRILLS)}")
    sys.exit(asyncio.run(main([n for n in DRILLS if n in args.names] or list(DRILLS))))
