"""Route solves as jobs on SAQ (``PLAN_QUEUE=saq``, issue 24): the web processes enqueue, solver workers on any
number of machines (``python -m backend solver-worker``) solve, each solve in a child process as in the embedded
engine (``worker.solve_in_process``: OR-Tools and numba hold the GIL).

Built on SAQ's documented model (https://saq-py.readthedocs.io, "Jobs" and "Worker"; saq 0.26 source): a job
has a ``key`` and ``Queue.enqueue`` returns None while a job of that key is incomplete (queued, active or
waiting for a retry); a worker touches its job (``Job.update``) and a job not touched within its ``heartbeat``
seconds is "stuck": any worker's periodic ``sweep`` aborts it and, while ``retries`` > ``attempts``, queues it
again, where another worker takes it. SAQ's job record is only a delivery: the plan row stays the truth.

- A job carries its plan id; its key is kind + office + day (``job_key``), so two enqueues of the same plan
  (a web process and a worker's reconcile at once) make one job. A second *plan* for the same office and day
  cannot exist while one is in progress (the unique index of migration 0009: the API answers 409 naming it).
- The attempt that runs claims the plan row (``worker.claim``: status running, ``worker_id`` = this attempt).
  A retry after a worker died takes the plan over once its heartbeat is as old as the job's; a slow survivor
  then loses its hold and writes nothing (``worker.LostPlan``).
- Every worker reconciles every ``PLAN_SWEEP_S`` (``reconcile``): a queued plan, or a running one whose
  heartbeat is stale, is enqueued (a no-op when its job exists), so a web process that died between its commit
  and its enqueue, or Redis down at submit time, loses no plan. Days already past are failed.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from saq import Queue, Worker
from saq.types import PartialTimersDict
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import make_engine, session_factory
from backend.lib.sweeper import Sweeper
from backend.planning import worker
from backend.planning.limits import DEFAULT_TIME_LIMIT_S
from backend.settings import Settings
from schemas.base import utcnow
from schemas.planning import Plan, PlanStatus
from schemas.vntime import vn_date

log = logging.getLogger("backend.planning.jobs")

FUNCTION = "solve_plan"
# Attempts of one job: a worker killed mid-solve twice still leaves a third.
ATTEMPTS = 3
# Seconds past the solver's own time limit before the engine gives the job up (the child's start, the day's
# build, storing the solution; ``worker.solve_in_process`` itself allows 60 s of grace).
JOB_GRACE_S = 120
# How long SAQ keeps a finished job's record (its result, for operators); the plan row keeps the rest.
JOB_TTL_S = 3600


def job_key(plan: Plan) -> str:
    kind = "replan" if plan.replan_of is not None else "plan"
    return f"{kind}:{plan.post_office_id}:{plan.service_date.isoformat()}"


def make_queue(settings: Settings) -> Queue:
    return Queue.from_url(settings.redis_url, name=settings.plan_queue_name)


async def enqueue(queue: Queue, plan: Plan, settings: Settings) -> bool:
    """Enqueue the solve of ``plan``; False when a job of its key is already incomplete (it is reused)."""
    limit = float((plan.options or {}).get("time_limit_s", DEFAULT_TIME_LIMIT_S))
    job = await queue.enqueue(
        FUNCTION,
        key=job_key(plan),
        timeout=int(limit) + JOB_GRACE_S,
        heartbeat=settings.plan_job_heartbeat_s,
        retries=ATTEMPTS,
        ttl=JOB_TTL_S,
        plan_id=str(plan.id),
    )
    return job is not None


async def reconcile(engine: AsyncEngine, queue: Queue, settings: Settings) -> dict[str, int]:
    """Every plan in progress has a job: queued plans, and running ones whose heartbeat is older than a job's,
    are enqueued (a no-op for those whose job exists); those of a day already past are failed."""
    factory = session_factory(engine)
    now = utcnow()
    stale = timedelta(seconds=settings.plan_job_heartbeat_s)
    counts = {"enqueued": 0, "reused": 0, "failed": 0}
    async with factory() as session:
        plans = (
            await session.exec(
                select(Plan).where(col(Plan.status).in_([PlanStatus.queued, PlanStatus.running]))
            )
        ).all()
    for plan in plans:
        if plan.status == PlanStatus.running and now - (plan.heartbeat_at or plan.created_at) < stale:
            continue
        if plan.service_date < vn_date(now):
            await worker.fail(factory, plan.id, "Bị gián đoạn, ngày đã qua / Interrupted; the day has passed")
            counts["failed"] += 1
        elif await enqueue(queue, plan, settings):
            counts["enqueued"] += 1
        else:
            counts["reused"] += 1
    if counts["enqueued"] or counts["failed"]:
        log.info("plans reconciled: %s", counts)
    return counts


@dataclass
class WorkerState:
    factory: Any
    settings: Settings


async def release(factory: Any, plan_id: uuid.UUID, holder: str) -> None:
    """Give a plan back (this worker is stopping): queued again, for the job's retry."""
    async with factory() as session:
        await session.execute(
            update(Plan)
            .where(
                col(Plan.id) == plan_id, col(Plan.status) == PlanStatus.running, col(Plan.worker_id) == holder
            )
            .values(
                status=PlanStatus.queued,
                progress=0,
                worker_id=None,
                error="Tính lại: máy giải dừng / Re-queued: the solver worker stopped",
            )
        )
        await session.commit()


async def solve_plan(ctx: Any, *, plan_id: str) -> str:
    """The job: claim the plan (taking over a dead worker's), solve it, store the solution. Returns what
    happened (SAQ keeps it as the job's result)."""
    state: WorkerState = ctx["plans"]
    job = ctx["job"]
    pid = uuid.UUID(plan_id)
    holder = f"{ctx['worker'].id}:{job.attempts}"[:80]
    last_touch = [time.monotonic()]

    async def touch(pct: float) -> None:  # SAQ's heartbeat, at most once a second
        if time.monotonic() - last_touch[0] >= 1.0:
            last_touch[0] = time.monotonic()
            await job.update(progress=pct / 100)

    takeover = timedelta(seconds=state.settings.plan_job_heartbeat_s)
    while not await worker.claim(state.factory, pid, holder, takeover):
        async with state.factory() as session:
            status = (await session.exec(select(Plan.status).where(Plan.id == pid))).first()
        if status not in (PlanStatus.queued, PlanStatus.running):
            return f"not solved here: plan is {status}"
        await touch(0)  # another attempt holds it: wait until it ends or its heartbeat goes stale
        await asyncio.sleep(1.0)
    try:
        await worker.solve_claimed(state.factory, pid, holder, touch)
    except asyncio.CancelledError:
        await release(state.factory, pid, holder)
        raise
    except worker.LostPlan:
        return "taken over by another attempt"
    except Exception as exc:
        log.exception("plan %s failed", pid)
        await worker.fail(state.factory, pid, f"Lỗi khi tính lộ trình / Solve failed: {exc}"[:500], holder)
        return "failed"
    return "solved"


async def run_worker(settings: Settings) -> None:
    """``python -m backend solver-worker``: SAQ's worker (``SOLVER_CONCURRENCY`` solves at once, each in a
    child process) and the reconcile loop, until SIGINT/SIGTERM (a solve under way is given back and retried)."""
    engine = make_engine(settings.database_url)
    queue = make_queue(settings)
    saq_worker = Worker(
        queue,
        functions=[(FUNCTION, solve_plan)],
        concurrency=settings.solver_concurrency,
        # SAQ's defaults but the sweep (its PartialTimersDict type wants every key).
        timers=PartialTimersDict(schedule=1, worker_info=10, sweep=settings.plan_sweep_s, abort=1),
        shutdown_grace_period_s=0,
        cancellation_hard_deadline_s=15.0,
        metadata={"host": socket.gethostname(), "pid": os.getpid()},
    )
    saq_worker.context["plans"] = WorkerState(session_factory(engine), settings)  # type: ignore[index]

    async def reconcile_once() -> None:
        await reconcile(engine, queue, settings)

    # Redis or the database away for a moment: logged, next round. Never stopped: cancelled with the worker.
    reconciling = Sweeper("reconcile", reconcile_once, settings.plan_sweep_s, log)
    loops = asyncio.create_task(reconciling.run(asyncio.Event()))
    log.info(
        "solver worker %s on queue %s, %d at once", saq_worker.id, queue.name, settings.solver_concurrency
    )
    try:
        await saq_worker.start()
    finally:
        loops.cancel()
        with contextlib.suppress(BaseException):
            await loops
        await queue.disconnect()
        await engine.dispose()
