"""Drill 8 as a test: a real PostgreSQL restart under load (``bench/drills/pg_real_restart.py``). A private
cluster (``initdb -A trust``, ``pg_ctl`` on a free port; as the ``postgres`` account through ``runuser`` when
the suite runs as root) holds a copy of a fresh demo database; the service (two Granian workers) runs on it
while a client books and reads; ``pg_ctl restart -m fast``, then ``stop -m fast``, a gap, ``start``. Only 503
``database_unavailable`` problems while it is down (before the fix, connecting while the server was starting up
or shutting down answered 500), recovery in the same processes, both workers' LISTEN connections back and a
change made behind the service's back seen at once, every booking whole. PostgreSQL only, by nature."""

import shutil

import pytest

from bench.drills import common, pg_real_restart


@pytest.mark.skipif(shutil.which("initdb") is None, reason="initdb/pg_ctl are not installed")
async def test_a_real_postgresql_restart_under_load_answers_503s_and_recovers_by_itself() -> None:
    async with common.database("hoso_test_drill") as (url, _):
        outcome = await pg_real_restart.run_on(url, gap_s=3)
    assert outcome.passed, (outcome.observed, outcome.figures)
    figures = outcome.figures
    assert figures["http_500"] == 0 and figures["log_500s"] == 0
    assert figures["listeners_before_restart_start"] == [2, 2, 2]
    assert figures["recovery_after_start_s"] < 30
