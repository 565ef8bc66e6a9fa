"""Drill 5: a backup and a restore.

``pg_dump --format=custom`` of the drill's database, ``pg_restore`` into a new database, then the invariants
(``invariants.BOOKING`` and ``invariants.RECORDS``: ledgers balance, custody chains continuous, every event's
dossier exists, every booking whole) on the copy, and the copy's row counts equal the original's. Followed the
PostgreSQL 15 documentation of ``pg_dump`` and ``pg_restore`` (custom format, ``--no-owner``, ``--exit-on-error``).
"""

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
import uuid

from sqlalchemy.engine import make_url

from backend.lib.pgadmin import admin_exec
from bench.drills import common, invariants

CHECKS = {**invariants.BOOKING, **invariants.RECORDS}


def _libpq(url: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for the PostgreSQL client programs (the password through the environment)."""
    u = make_url(url)
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    args = ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    return args, env


async def _timed(command: list[str], env: dict[str, str]) -> float:
    """Run a client program to its end (an error if it fails): seconds taken."""
    began = time.monotonic()
    await asyncio.to_thread(subprocess.run, command, env=env, check=True)
    return time.monotonic() - began


async def run_on(url: str, name: str) -> common.Outcome:
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            return common.Outcome("5 backup/restore", "-", "-", f"{tool} not installed", False)
    copy = f"{name}_restored_{uuid.uuid4().hex[:4]}"
    args, env = _libpq(url)
    with tempfile.TemporaryDirectory(prefix="drill-backup-") as tmp:
        dump = os.path.join(tmp, "drill.dump")
        dump_s = await _timed(["pg_dump", *args, "--format=custom", "--file", dump, name], env)
        size = await asyncio.to_thread(os.path.getsize, dump)
        await admin_exec(common.admin_url(), f'CREATE DATABASE "{copy}"')
        try:
            restore_s = await _timed(
                ["pg_restore", *args, "--no-owner", "--exit-on-error", "--dbname", copy, dump], env
            )
            copy_url = make_url(url).set(database=copy).render_as_string(hide_password=False)
            original, restored = await invariants.counts(url), await invariants.counts(copy_url)
            broken = await invariants.broken(copy_url, CHECKS)
            source = await invariants.broken(url, CHECKS)
        finally:
            await common.drop_database(copy)
    # The copy holds what the original held, rule-breaking rows included (the demo's past appointments have
    # no confirmations); the records' rules (ledgers, custody chains, events' dossiers) hold outright.
    passed = (
        original == restored
        and broken == source
        and not any(broken[k] for k in invariants.RECORDS)
        and restored["appointments"] > 0
    )
    return common.Outcome(
        drill="5 backup/restore",
        done="pg_dump -Fc of the drill database, pg_restore into a new one",
        expected="same row counts; ledgers balance, custody chains continuous, events' dossiers exist, "
        "bookings whole",
        observed=f"counts equal: {original == restored}; invariants as in the original: {broken == source}; "
        f"records' rows breaking one {sum(broken[k] for k in invariants.RECORDS)}; "
        + ", ".join(f"{k} {v}" for k, v in restored.items()),
        passed=passed,
        figures={
            "dump_s": round(dump_s, 2),
            "restore_s": round(restore_s, 2),
            "dump_kib": size // 1024,
            **{k: v for k, v in broken.items() if v},
        },
    )


async def run() -> common.Outcome:
    from bench.drills import kill_worker

    async with common.database(full=True) as (url, name):
        await kill_worker.run_on(url, n=100)  # bookings made through the service, one worker killed
        return await run_on(url, name)
