"""Where a plan's solve goes (issue 24): one interface over the two engines, chosen by ``PLAN_QUEUE``.

- ``embedded`` (the default; ``make run``): this web process solves it (``worker.PlanRunner``: a child process
  per solve, one at a time, turns between offices). One machine, no extra server; a plan under way when the
  process stops is re-queued at its next start (``worker.recover_stale``).
- ``saq``: a job on Redis (``jobs``), solved by ``python -m backend solver-worker`` processes anywhere; the web
  process only enqueues, and reconciles at start.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from backend.planning import jobs, worker
from schemas.planning import Plan

log = logging.getLogger("backend.planning")


async def submit(app: Litestar, plan: Plan) -> None:
    """Start solving a committed queued ``plan``. With SAQ, Redis failing here loses nothing: the plan row is
    queued, and the next reconcile (a worker's, every ``PLAN_SWEEP_S``) enqueues it."""
    settings = app.state.settings
    if settings.plan_queue != "saq":
        worker.runner_of(app).launch(plan.id)
        return
    try:
        await jobs.enqueue(app.state.plan_jobs, plan, settings)
    except Exception:
        log.exception("plan %s not enqueued now; a solver worker's reconcile will", plan.id)


@asynccontextmanager
async def lifespan_hook(app: Litestar) -> AsyncIterator[None]:
    settings = app.state.settings
    if settings.plan_queue != "saq":
        async with worker.embedded_runner(app):
            yield
        return
    queue = jobs.make_queue(settings)
    app.state.plan_jobs = queue
    try:
        await queue.connect()
        await jobs.reconcile(app.state.engine, queue, settings)
    except Exception:  # Redis or a table missing at first start must not stop the app; workers reconcile too
        log.exception("could not reconcile plans with the job queue")
    try:
        yield
    finally:
        await queue.disconnect()
