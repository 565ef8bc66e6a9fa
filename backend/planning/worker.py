"""Background plan computation: an asyncio task per plan awaits a solve in a separate process.

OR-Tools holds the GIL for its whole search, so solving in the web process would freeze every request. Each
solve runs in a fresh 'spawn' process that the task can terminate (app shutdown, timeout); the routing library's
``solve_async`` would have to wait for the search to end instead. Progress is the share of the solver's time
budget used so far (the library reports no intermediate solutions), written with a heartbeat so a plan whose
process died is recognisable as stale.
"""

import asyncio
import contextlib
import logging
import multiprocessing
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from litestar import Litestar
from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from backend.db import session_factory
from backend.planning import capacity, services, solve_child
from routing import Problem, Solution, SolveOptions
from schemas.base import utcnow
from schemas.planning import Plan, PlanStatus
from schemas.vntime import vn_date

log = logging.getLogger("backend.planning")

# A running plan whose heartbeat is older than this belongs to a dead process.
STALE_AFTER = timedelta(minutes=2)
HEARTBEAT_S = 1.0
# Solves at once per web process: the machine's cores are shared with the web server.
MAX_CONCURRENT = 1


class SolveError(RuntimeError):
    pass


async def solve_in_process(
    problem: Problem, options: SolveOptions, on_tick: Any = None, grace_s: float = 60.0
) -> Solution:
    """``routing.solve`` in a spawned process; ``await on_tick(elapsed_s)`` about every second meanwhile.
    Cancelling the awaiting task terminates the process."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=solve_child.run, args=(problem, options, child), daemon=True)
    proc.start()
    child.close()
    t0 = time.monotonic()
    try:
        while not parent.poll():
            if not proc.is_alive() and not parent.poll():
                raise SolveError(f"solver process exited with code {proc.exitcode}")
            elapsed = time.monotonic() - t0
            if elapsed > options.time_limit_s + grace_s:
                raise SolveError("solver did not finish in time")
            if on_tick is not None:
                await on_tick(elapsed)
            await asyncio.sleep(min(HEARTBEAT_S, 0.2 + elapsed / 10))
        status, payload = await asyncio.to_thread(parent.recv)
    finally:
        parent.close()
        if proc.is_alive():
            proc.terminate()
        await asyncio.to_thread(proc.join, 5)
    if status != "ok":
        raise SolveError(str(payload))
    assert isinstance(payload, Solution)
    return payload


class FairGate:
    """At most ``slots`` holders at once; waiters are let in round-robin between keys (post offices), each
    key's own waiters in arrival order. A plain semaphore let them in by arrival only: an office that asked
    for ten solves made every other office wait for all ten."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.busy = 0
        self._waiting: dict[Hashable, deque[asyncio.Future[None]]] = {}  # in turn order

    @contextlib.asynccontextmanager
    async def slot(self, key: Hashable) -> AsyncIterator[None]:
        await self.acquire(key)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, key: Hashable) -> None:
        if self.busy < self.slots and not self._waiting:
            self.busy += 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, deque()).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # let in, then cancelled before using the slot: pass it on
            else:
                queue = self._waiting.get(key)
                if queue is not None and turn in queue:
                    queue.remove(turn)
                    if not queue:
                        del self._waiting[key]
            raise

    def release(self) -> None:
        self.busy -= 1
        while self.busy < self.slots and self._waiting:
            key, queue = next(iter(self._waiting.items()))
            turn = queue.popleft()
            del self._waiting[key]  # this key's next waiter goes to the back of the turn order
            if queue:
                self._waiting[key] = queue
            if not turn.done():
                self.busy += 1
                turn.set_result(None)

    def waiting(self) -> dict[Hashable, int]:
        return {key: len(queue) for key, queue in self._waiting.items()}


class LostPlan(RuntimeError):
    """Another solve attempt holds the plan now (this one was presumed dead): stop without writing."""


async def claim(
    factory: Any, plan_id: uuid.UUID, holder: str, takeover_after: timedelta | None = None
) -> bool:
    """Make ``holder`` the solve attempt of a queued plan, or (``takeover_after``) of a running one whose
    heartbeat is older than that: its worker died and the job engine retried the job here. One UPDATE, so of
    two attempts at once one wins."""
    now = utcnow()
    claimable = col(Plan.status) == PlanStatus.queued
    if takeover_after is not None:
        claimable = or_(
            claimable,
            and_(col(Plan.status) == PlanStatus.running, col(Plan.heartbeat_at) < now - takeover_after),
        )
    async with factory() as session:
        claimed = await session.execute(
            update(Plan)
            .where(col(Plan.id) == plan_id, claimable)
            .values(
                status=PlanStatus.running,
                progress=5,
                started_at=now,
                heartbeat_at=now,
                worker_id=holder,
                attempts=col(Plan.attempts) + 1,
            )
        )
        await session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _held(plan_id: uuid.UUID, holder: str) -> Any:
    return and_(
        col(Plan.id) == plan_id, col(Plan.status) == PlanStatus.running, col(Plan.worker_id) == holder
    )


async def solve_claimed(factory: Any, plan_id: uuid.UUID, holder: str, on_tick: Any = None) -> None:
    """Solve a plan ``holder`` claimed: build the day, solve in a child process writing progress and heartbeat
    (``await on_tick(pct)`` after each write), store the solution. Raises ``LostPlan`` when another attempt
    took the plan over (nothing is written then)."""
    async with factory() as session:
        job = await services.prepare_solve(session, plan_id)
        await session.commit()

    async def tick(elapsed: float) -> None:
        pct = min(10 + int(85 * min(elapsed / max(job.options.time_limit_s, 0.1), 1.0)), 95)
        async with factory() as s:
            res = await s.execute(
                update(Plan).where(_held(plan_id, holder)).values(progress=pct, heartbeat_at=utcnow())
            )
            await s.commit()
        if res.rowcount != 1:  # type: ignore[attr-defined]
            raise LostPlan(plan_id)
        if on_tick is not None:
            await on_tick(pct)

    solution = None
    if job.day.stops and job.day.couriers:
        solution = await solve_in_process(job.problem, job.options, tick)
    async with factory() as session:
        # Still ours? The UPDATE locks the row to the commit, so a takeover cannot slip in between.
        res = await session.execute(update(Plan).where(_held(plan_id, holder)).values(heartbeat_at=utcnow()))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            raise LostPlan(plan_id)
        await services.store_solution(session, plan_id, job, solution)
        await session.commit()
    capacity.forget_plans()


@dataclass
class PlanRunner:
    """The embedded engine (``PLAN_QUEUE=embedded``): solves in background tasks of this web process, at most
    ``MAX_CONCURRENT`` at once taking turns between offices. Owns the tasks (kept referenced so they are not
    garbage-collected)."""

    engine: AsyncEngine
    limit: FairGate = field(default_factory=lambda: FairGate(MAX_CONCURRENT))
    tasks: dict[uuid.UUID, asyncio.Task[None]] = field(default_factory=dict)
    id: str = field(default_factory=lambda: f"web-{uuid.uuid4().hex[:12]}")

    def launch(self, plan_id: uuid.UUID) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self.run(plan_id), name=f"plan-{plan_id}")
        self.tasks[plan_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(plan_id, None))
        return task

    async def run(self, plan_id: uuid.UUID) -> None:
        factory = session_factory(self.engine)
        holder = f"{self.id}:{uuid.uuid4().hex[:8]}"
        try:
            async with factory() as session:
                office = (await session.exec(select(Plan.post_office_id).where(Plan.id == plan_id))).first()
            async with self.limit.slot(office):
                if not await claim(factory, plan_id, holder):
                    return
                await solve_claimed(factory, plan_id, holder)
        except asyncio.CancelledError:
            await fail(
                factory, plan_id, "Bị gián đoạn khi dừng máy chủ / Interrupted by a server shutdown", holder
            )
            raise
        except LostPlan:
            log.warning("plan %s was taken over by another attempt", plan_id)
        except Exception as exc:
            log.exception("plan %s failed", plan_id)
            await fail(factory, plan_id, f"Lỗi khi tính lộ trình / Solve failed: {exc}"[:500], holder)

    async def cancel_all(self) -> None:
        tasks = list(self.tasks.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t


async def fail(factory: Any, plan_id: uuid.UUID, error: str, holder: str | None = None) -> None:
    """Mark the plan failed with ``error`` if it is still in progress (and, given ``holder``, still that
    attempt's)."""
    where = [col(Plan.id) == plan_id, col(Plan.status).in_([PlanStatus.queued, PlanStatus.running])]
    if holder is not None:
        where.append(col(Plan.worker_id) == holder)
    async with factory() as session:
        await session.execute(
            update(Plan).where(*where).values(status=PlanStatus.failed, error=error, finished_at=utcnow())
        )
        await session.commit()


async def recover_stale(engine: AsyncEngine, runner: PlanRunner | None = None) -> dict[str, int]:
    """At startup: plans left queued or running by a process that died are re-queued and solved again if
    their day has not passed; older ones are marked failed. A plan whose heartbeat is fresh belongs to
    another live web process and is left alone."""
    factory = session_factory(engine)
    now = utcnow()
    requeued: list[uuid.UUID] = []
    failed = 0
    async with factory() as session:
        rows = (
            await session.exec(
                select(Plan).where(col(Plan.status).in_([PlanStatus.queued, PlanStatus.running]))
            )
        ).all()
        for plan in rows:
            last = plan.heartbeat_at or plan.created_at
            if runner is not None and plan.id in runner.tasks:
                continue
            if now - last < STALE_AFTER:
                continue
            if plan.service_date >= vn_date(now):
                plan.status, plan.progress, plan.heartbeat_at, plan.worker_id = (
                    PlanStatus.queued,
                    0,
                    now,
                    None,
                )
                plan.error = "Tính lại sau khi máy chủ khởi động lại / Re-queued after a restart"
                requeued.append(plan.id)
            else:
                plan.status, plan.finished_at = PlanStatus.failed, now
                plan.error = "Bị gián đoạn, ngày đã qua / Interrupted; the day has passed"
                failed += 1
            session.add(plan)
        await session.commit()
    if runner is not None:
        for plan_id in requeued:
            runner.launch(plan_id)
    return {"requeued": len(requeued), "failed": failed}


def runner_of(app: Litestar) -> PlanRunner:
    runner = getattr(app.state, "plan_runner", None)
    if runner is None:
        runner = PlanRunner(app.state.engine)
        app.state.plan_runner = runner
    return runner


@asynccontextmanager
async def embedded_runner(app: Litestar) -> AsyncIterator[None]:
    runner = runner_of(app)
    try:
        await recover_stale(app.state.engine, runner)
    except Exception:  # a missing table (first start before migrations) must not stop the app
        log.exception("could not recover stale plans")
    try:
        yield
    finally:
        await runner.cancel_all()
