"""What the worker solves: a plan's day turned into a routing problem with its options."""

import uuid
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from backend.planning.limits import DEFAULT_TIME_LIMIT_S
from backend.planning.problem_builder import DayInput, build_day, matrix_provider
from backend.planning.services import households
from backend.planning.services.replanning import History, keep_progress
from routing import Problem, SolveOptions
from schemas.orgs import Organisation
from schemas.planning import Plan, PlanStop


@dataclass
class SolveJob:
    plan: Plan
    day: DayInput
    problem: Problem
    options: SolveOptions
    # Per courier, the finished stops of the plan this one re-plans (kept at the head of the new route).
    history: History = field(default_factory=dict)
    started: dict[str, PlanStop] = field(default_factory=dict)


async def prepare_solve(session: AsyncSession, plan_id: uuid.UUID) -> SolveJob:
    plan = await session.get(Plan, plan_id)
    assert plan is not None
    po = await session.get(Organisation, plan.post_office_id)
    assert po is not None
    day = await build_day(session, po, plan.service_date)
    job = SolveJob(plan=plan, day=day, problem=Problem([], [], []), options=SolveOptions())
    if plan.replan_of is not None:
        job.history, job.started = await keep_progress(session, day, plan.replan_of, plan.created_at)
    households.merge(day)  # one visit per household (issue 20), after the progress a re-plan keeps
    job.problem = day.to_problem(matrix_provider())
    opts = plan.options or {}
    job.options = SolveOptions(
        time_limit_s=float(opts.get("time_limit_s", DEFAULT_TIME_LIMIT_S)),
        minimize_vehicles=bool(opts.get("minimize_couriers", False)),
        seed=int(opts.get("seed", 0)),
    )
    return job
