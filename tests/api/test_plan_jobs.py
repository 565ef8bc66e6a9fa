"""Route solves as SAQ jobs (issue 24), on SQLite and PostgreSQL with Redis at 127.0.0.1:6379: the app (built
with PLAN_QUEUE=saq) only enqueues; ``python -m backend solver-worker`` subprocesses solve. A worker killed with
SIGKILL mid-solve: a second one completes the plan. A duplicate submission reuses the job. The web app restarted
between submit and completion, its enqueue lost: the plan still completes. Each run has its own queue name (its
own Redis keys), removed at the end.
"""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.db import session_factory
from backend.planning import jobs
from backend.settings import ConfigError, Settings
from schemas.planning import Plan
from tests import openapi_check
from tests.api.planning_support import H, add_appointments, next_weekday, wait_plan
from tests.conftest import lifespan, staff_headers

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"
QUEUE = f"plans-test-{uuid.uuid4().hex[:10]}"
HEARTBEAT_S = 5  # a killed worker's job is stuck after this, and its plan may be taken over
SPECS = [
    ("pickup", 8 * H, 10 * H),
    ("delivery", 8 * H, 11 * H),
    ("assisted", 9 * H, 12 * H),
    ("pickup", 10 * H, 12 * H),
    ("pickup", 13 * H, 15 * H),
    ("delivery", 13 * H, 16 * H),
    ("pickup", 14 * H, 16 * H),
    ("delivery", 15 * H, 17 * H),
]


def saq_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        plan_queue="saq",
        redis_url=REDIS_URL,
        plan_queue_name=QUEUE,
        plan_job_heartbeat_s=HEARTBEAT_S,
        plan_sweep_s=1,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session", autouse=True)
async def clean_queue() -> AsyncIterator[None]:
    yield
    r = aioredis.from_url(REDIS_URL)
    try:
        keys = [k async for k in r.scan_iter(match=f"*{QUEUE}*")]
        if keys:
            await r.delete(*keys)
    finally:
        await r.aclose()


@asynccontextmanager
async def saq_client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A web app with PLAN_QUEUE=saq on the suite's database, started (lifespan) and stopped around the block."""
    from backend.app import create_app

    app = create_app(saq_settings(database_url), engine=engine)
    async with lifespan(app):
        hooks = openapi_check.response_hooks(app)
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=120, event_hooks=hooks
        ) as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


@contextmanager
def solver_worker(database_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "PLAN_QUEUE": "saq",
        "REDIS_URL": REDIS_URL,
        "PLAN_QUEUE_NAME": QUEUE,
        "PLAN_JOB_HEARTBEAT_S": str(HEARTBEAT_S),
        "PLAN_SWEEP_S": "1",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "solver-worker"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def solver_children(parent: int) -> list[int]:
    """The spawned solver processes of ``parent`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(stat.parent.name))
    return found


def alive(pids: list[int]) -> bool:
    return any(os.path.exists(f"/proc/{pid}") for pid in pids)


async def submit(
    client: httpx.AsyncClient, engine: AsyncEngine, demo: Any, po: int, day: date, limit: float
) -> tuple[dict[str, str], str]:
    await add_appointments(engine, demo, po, day, SPECS)
    headers = await staff_headers(client, f"dispatcher{po + 1:02d}")
    r = await client.post(
        f"/api/v1/post-offices/{demo.post_offices[po].code}/plans",
        json={"date": day.isoformat(), "time_limit_s": limit},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    return headers, r.json()["id"]


async def plan_row(engine: AsyncEngine, plan_id: str) -> Plan:
    async with session_factory(engine)() as session:
        plan = (await session.exec(select(Plan).where(Plan.id == uuid.UUID(plan_id)))).one()
        return plan


async def wait_running(client: httpx.AsyncClient, headers: dict[str, str], plan_id: str) -> dict[str, Any]:
    """Until a worker's progress shows in GET /plans/{id} (the solver child is under way)."""
    for _ in range(600):
        body = (await client.get(f"/api/v1/plans/{plan_id}", headers=headers)).json()
        if body["status"] == "running" and body["progress"] > 10:
            return dict(body)
        assert body["status"] in ("queued", "running"), body
        await asyncio.sleep(0.2)
    raise AssertionError(f"plan {plan_id} never ran")


async def test_a_job_enqueued_by_the_app_is_solved_by_a_worker_process(
    engine: AsyncEngine, database_url: str, demo: Any, tmp_path: Path
) -> None:
    day = next_weekday(21)
    async with saq_client(engine, database_url) as client:
        headers, plan_id = await submit(client, engine, demo, 8, day, 2)
        await asyncio.sleep(1.5)  # no worker yet: nobody solves in the web process
        assert (await client.get(f"/api/v1/plans/{plan_id}", headers=headers)).json()["status"] == "queued"
        queue = client.app.state.plan_jobs  # type: ignore[attr-defined]
        assert await queue.count("queued") >= 1
        with solver_worker(database_url, tmp_path / "worker.log"):
            running = await wait_running(client, headers, plan_id)
            assert running["progress"] <= 95
            body = await wait_plan(client, headers, plan_id)
    assert body["status"] == "done", (body, (tmp_path / "worker.log").read_text()[-3000:])
    assert sum(len(r["stops"]) for r in body["routes"]) > 0
    row = await plan_row(engine, plan_id)
    assert row.attempts == 1 and row.worker_id


async def test_a_worker_killed_mid_solve_is_replaced_and_the_plan_completes(
    engine: AsyncEngine, database_url: str, demo: Any, tmp_path: Path
) -> None:
    day = next_weekday(22)
    log = tmp_path / "workers.log"
    async with saq_client(engine, database_url) as client:
        headers, plan_id = await submit(client, engine, demo, 9, day, 8)
        with solver_worker(database_url, log) as first:
            await wait_running(client, headers, plan_id)
            first_holder = (await plan_row(engine, plan_id)).worker_id
            solvers = solver_children(first.pid)
            assert solvers, "the worker solves in a child process"
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            # The orphaned solver stops too (PR_SET_PDEATHSIG, or at once if it was still importing the
            # routing library when its worker died), not burning a core.
            for _ in range(600):
                if not alive(solvers):
                    break
                await asyncio.sleep(0.1)
            assert not alive(solvers)
        body = (await client.get(f"/api/v1/plans/{plan_id}", headers=headers)).json()
        assert body["status"] == "running"  # the dead worker's plan waits for the retry
        with solver_worker(database_url, log):
            body = await wait_plan(client, headers, plan_id)
    assert body["status"] == "done", (body, log.read_text()[-3000:])
    row = await plan_row(engine, plan_id)
    assert row.attempts == 2, row
    assert row.worker_id and first_holder and row.worker_id != first_holder


async def test_a_duplicate_submission_reuses_the_running_job(
    engine: AsyncEngine, database_url: str, demo: Any, tmp_path: Path
) -> None:
    day = next_weekday(23)
    po = 10
    async with saq_client(engine, database_url) as client:
        headers, plan_id = await submit(client, engine, demo, po, day, 2)
        url = f"/api/v1/post-offices/{demo.post_offices[po].code}/plans"
        again = await client.post(url, json={"date": day.isoformat(), "time_limit_s": 2}, headers=headers)
        assert again.status_code == 409 and again.json()["plan_id"] == plan_id, again.text
        queue = client.app.state.plan_jobs  # type: ignore[attr-defined]
        plan = await plan_row(engine, plan_id)
        key = jobs.job_key(plan)
        assert not await jobs.enqueue(queue, plan, client.app.state.settings)  # type: ignore[attr-defined]
        # The web app's start-up reconcile and a worker's, at once: the same single job.
        counts = await asyncio.gather(
            *(jobs.reconcile(engine, queue, client.app.state.settings) for _ in range(3))  # type: ignore[attr-defined]
        )
        assert all(c["enqueued"] == 0 for c in counts), counts
        job = await queue.job(key)
        assert job is not None and job.kwargs == {"plan_id": plan_id}
        with solver_worker(database_url, tmp_path / "worker.log"):
            body = await wait_plan(client, headers, plan_id)
    assert body["status"] == "done"
    assert (await plan_row(engine, plan_id)).attempts == 1


async def test_the_web_app_restarted_before_completion_loses_no_plan(
    engine: AsyncEngine, database_url: str, demo: Any, tmp_path: Path
) -> None:
    """The first app stops after its commit; its enqueue is lost too (the job's keys removed, as if it died
    between commit and enqueue): the next app's start-up reconcile enqueues it, a worker solves it."""
    day = next_weekday(24)
    async with saq_client(engine, database_url) as client:
        headers, plan_id = await submit(client, engine, demo, 11, day, 2)
        key = jobs.job_key(await plan_row(engine, plan_id))
    r = aioredis.from_url(REDIS_URL)
    try:
        job_id = f"saq:job:{QUEUE}:{key}"
        await r.delete(job_id)
        await r.zrem(f"saq:{QUEUE}:incomplete", job_id)
        await r.lrem(f"saq:{QUEUE}:queued", 0, job_id)
    finally:
        await r.aclose()
    async with saq_client(engine, database_url) as client:
        queue = client.app.state.plan_jobs  # type: ignore[attr-defined]
        assert await queue.job(key) is not None  # enqueued again at start
        with solver_worker(database_url, tmp_path / "worker.log"):
            body = await wait_plan(client, headers, plan_id)
    assert body["status"] == "done", body


def test_settings_refuse_a_queue_that_cannot_work() -> None:
    with pytest.raises(ConfigError, match="PLAN_QUEUE"):
        Settings(env="test", plan_queue="celery").validate()
    with pytest.raises(ConfigError, match="REDIS_URL"):
        Settings(env="test", plan_queue="saq", redis_url="").validate()
    prod = {"env": "production", "secret_key": "k" * 40, "otp_test_numbers": "", "firebase_project_id": "p",
            "public_base_url": "https://hoso.example.vn"}  # fmt: skip
    with pytest.raises(ConfigError, match="PLAN_QUEUE=saq"):
        Settings(**prod, web_concurrency=2, redis_url=REDIS_URL).validate()  # type: ignore[arg-type]
    Settings(**prod, web_concurrency=2, redis_url=REDIS_URL, plan_queue="saq").validate()  # type: ignore[arg-type]
    Settings(env="development").validate()  # make run: embedded, no Redis


def test_the_solver_worker_command_needs_the_saq_queue() -> None:
    env = {**os.environ, "APP_ENV": "test", "PLAN_QUEUE": "embedded"}
    done = subprocess.run(
        [sys.executable, "-m", "backend", "solver-worker"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2 and b"PLAN_QUEUE=saq" in done.stderr
