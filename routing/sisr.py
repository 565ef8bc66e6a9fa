"""Ruin-and-recreate search (SISR) for routing models: time windows, service times, per-vehicle start, end,
shift, capacities, fixed costs and one break, skills and pins, optional stops, deliveries from and pickups to
the depot on one route, pickup-delivery pairs, committed stops (kept first, in order, late at a cost), fewest
vehicles first when asked; not several breaks per vehicle or several travel profiles: those models stay on
OR-Tools (`routing.solver`).

Millions of small ruin-and-recreate steps beat a few hundred OR-Tools descents on these models: measured in
`routing/README.md`. The compiled kernel is `routing.sisr_kernel`; this module prepares its arrays, runs it
in short chunks against the wall-clock deadline, and turns its best plan back into a `Plan`.
"""

import importlib
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from routing.compile import Compiled
from routing.model import Problem, SolveOptions
from routing.ortools_model import LATE_COMMITTED_COEF, penalty_scale, unserved_penalty, vehicle_fixed_cost

IntArray = npt.NDArray[np.int64]

NEIGHBOURS = 100
BREAK = -1  # the break's token in a route (the kernel imports it from here)
# Annealing temperature as a share of the mean arc cost of a plan, from the start to the end of the search
# (SISR's 100 -> 1 for Solomon distances is about 7x -> 0.07x a mean arc, for 10^8 iterations; shorter runs
# want it colder).
TEMPERATURE = (1.0, 0.01)
CHUNK_S = 0.1


def _kernel() -> Any:
    """The compiled module, imported on first use: importing numba costs ~0.3 s that a web process which
    never solves (it hands plans to a worker process) should not pay."""
    return importlib.import_module("routing.sisr_kernel")


def eligible(problem: Problem, options: SolveOptions) -> bool:
    """Read from the problem itself (no compiled matrices), so a caller can decide before compiling."""
    return (
        options.ruin_recreate
        and options.solution_limit is None
        and options.stall_restart_s != 0
        and len(problem.stops) > 1
        and all(len(v.breaks) <= 1 for v in problem.vehicles)
        and len({v.profile for v in problem.vehicles}) <= 1
    )


@dataclass
class Arrays:
    travel: IntArray
    cost: IntArray
    service: IntArray
    tw_start: IntArray
    tw_end: IntArray
    demand: IntArray
    capacity: IntArray
    shift_end: IntArray
    fixed: IntArray
    penalty: IntArray
    allowed: npt.NDArray[np.bool_]
    empty_rep: IntArray
    neighbours: IntArray
    depot_cost: npt.NDArray[np.float64]
    mixed: bool
    brk: IntArray
    has_brk: IntArray
    partner: IntArray
    role: IntArray
    last_fixed: IntArray
    fixed_stop: npt.NDArray[np.bool_]
    late_coef: int

    def pack(self) -> tuple[object, ...]:
        """The kernel's `pb` tuple (order documented in `routing.sisr_kernel`)."""
        return (
            self.travel,
            self.cost,
            self.service,
            self.tw_start,
            self.tw_end,
            self.demand,
            self.capacity,
            self.shift_end,
            self.fixed,
            self.penalty,
            self.allowed,
            self.empty_rep,
            self.neighbours,
            self.depot_cost,
            self.mixed,
            self.brk,
            self.has_brk,
            self.partner,
            self.role,
            self.last_fixed,
            self.fixed_stop,
            self.late_coef,
        )


def arrays(c: Compiled, options: SolveOptions) -> Arrays:
    n, k_n = c.n_stops, len(c.starts)
    cost = np.ascontiguousarray(c.cost[0])
    big = int(np.abs(c.items).sum() + np.abs(c.weight).sum()) + 1
    capacity = np.array(
        [
            [big if ci is None else ci, big if cw is None else cw]
            for ci, cw in zip(c.cap_items, c.cap_weight, strict=True)
        ],
        dtype=np.int64,
    )
    _, vehicle_cost, unserved = penalty_scale(c, options.minimize_vehicles)
    fixed = np.array([vehicle_fixed_cost(c, k, vehicle_cost) for k in range(k_n)], dtype=np.int64)
    penalty = np.array([unserved_penalty(c, i, unserved) for i in range(n)], dtype=np.int64)
    allowed = np.ones((n, k_n), dtype=np.bool_)
    for i in range(n):
        if c.allowed[i] is not None:
            allowed[i, :] = False
            allowed[i, c.allowed[i] or []] = True
    # Vehicles that are interchangeable when empty: one of each class is tried for a new route.
    classes: dict[tuple[int, ...], int] = {}
    empty_rep = np.zeros(k_n, dtype=np.int64)
    for k in range(k_n):
        key = (
            c.starts[k],
            c.ends[k],
            c.shift_start[k],
            c.shift_end[k],
            int(capacity[k, 0]),
            int(capacity[k, 1]),
            int(fixed[k]),
            *allowed[:, k].nonzero()[0].tolist(),
        )
        empty_rep[k] = classes.setdefault(key, k)
    sym = cost[:n, :n] + cost[:n, :n].T
    width = min(NEIGHBOURS, n - 1)
    neighbours = np.argsort(sym, axis=1, kind="stable")
    # Drop each stop itself (distance 0, normally first) and keep the nearest `width`.
    neighbours = np.array(
        [[j for j in row if j != i][:width] for i, row in enumerate(neighbours[:, : width + 1])]
    )
    depot_cost = cost[np.array(c.starts)[:, None], np.arange(n)].mean(axis=0).astype(np.float64)
    demand = np.stack([c.items, c.weight], axis=1).astype(np.int64)
    partner = np.full(c.n_nodes, -1, dtype=np.int64)
    role = np.zeros(c.n_nodes, dtype=np.int64)
    for pu, dn in c.delivery_of.items():
        partner[pu], partner[dn] = dn, pu
        role[pu], role[dn] = 1, 2
    fixed_stop = np.zeros(c.n_nodes, dtype=np.bool_)
    for seq in c.committed:
        fixed_stop[seq] = True
    return Arrays(
        travel=np.ascontiguousarray(c.travel[0]),
        cost=cost,
        service=c.service,
        tw_start=c.tw_start,
        tw_end=c.tw_end,
        demand=demand,
        capacity=capacity,
        shift_end=np.array(c.shift_end, dtype=np.int64),
        fixed=fixed,
        penalty=penalty,
        allowed=allowed,
        empty_rep=empty_rep,
        neighbours=neighbours.astype(np.int64),
        depot_cost=depot_cost,
        mixed=bool((demand < 0).any()),
        brk=np.array([[b[0][2], b[0][0], b[0][1]] if b else [0, 0, 0] for b in c.breaks], dtype=np.int64),
        has_brk=np.array([1 if b else 0 for b in c.breaks], dtype=np.int64),
        partner=partner,
        role=role,
        last_fixed=np.array([seq[-1] if seq else -1 for seq in c.committed], dtype=np.int64),
        fixed_stop=fixed_stop,
        late_coef=LATE_COMMITTED_COEF,
    )


State = tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]


def _empty(c: Compiled, a: Arrays, state: State, k: int) -> None:
    """Route k without stops: start, its break if it has one, end."""
    seq, size = state[0], state[1]
    m = int(a.has_brk[k])
    if m:
        seq[k, 1] = BREAK
    seq[k, m + 1] = c.ends[k]
    size[k] = m


def empty_state(c: Compiled, a: Arrays) -> State:
    n, k_n = c.n_stops, len(c.starts)
    width = n + 3  # start, stops, break, end
    seq = np.zeros((k_n, width), dtype=np.int64)
    seq[:, 0] = c.starts
    early = np.zeros((k_n, width), dtype=np.int64)
    early[:, 0] = c.shift_start
    late = np.zeros((k_n, width), dtype=np.int64)
    state = (
        seq,
        np.zeros(k_n, dtype=np.int64),  # size
        early,
        late,
        np.zeros((k_n, width, 6), dtype=np.int64),  # lmax
        np.zeros(k_n, dtype=np.int64),  # arc
        np.full(n, -1, dtype=np.int64),  # where
        np.full(n, -1, dtype=np.int64),  # at
    )
    pb = a.pack()
    for k in range(k_n):
        _empty(c, a, state, k)
        _kernel().refresh(k, state, pb)
    return state


def load_routes(c: Compiled, a: Arrays, state: State, routes: list[list[int]]) -> None:
    """Put a warm start into an empty state; a route that is not feasible here is left out whole (but for its
    committed stops, which stay first and in order; their windows' ends are soft)."""
    seq, size, _, _, _, _, where, at = state
    pb = a.pack()
    for k, nodes in enumerate(routes):
        nodes = [n for n in nodes if a.allowed[n, k]]
        # A pair stays only whole, on one route, pickup first; otherwise both are inserted afresh.
        pos = {n: i for i, n in enumerate(nodes)}
        nodes = [
            n
            for n in nodes
            if a.role[n] == 0
            or (a.role[n] == 1 and pos.get(int(a.partner[n]), -1) > pos[n])
            or (a.role[n] == 2 and -1 < pos.get(int(a.partner[n]), -1) < pos[n])
        ]
        if not nodes:
            continue
        tokens = nodes + [BREAK] * int(a.has_brk[k])
        m = len(tokens)
        seq[k, 1 : m + 1] = tokens
        seq[k, m + 1] = c.ends[k]
        size[k] = m
        if not (_kernel().place_break(k, state, pb) and _kernel().refresh(k, state, pb)):
            _empty(c, a, state, k)
            _kernel().refresh(k, state, pb)
            at[nodes] = -1
            kept = list(c.committed[k])
            if kept and nodes != kept:
                # Keep at least what the courier has started or promised.
                load_routes(c, a, state, [kept if j == k else [] for j in range(len(routes))])
            continue
        where[nodes] = k
        row = seq[k, 1 : m + 1]
        at[row[row >= 0]] = np.nonzero(row >= 0)[0] + 1


def copy_state(state: State) -> State:
    return tuple(x.copy() for x in state)  # type: ignore[return-value]


def routes_of(state: State) -> list[list[int]]:
    seq, size = state[0], state[1]
    return [[n for n in seq[k, 1 : size[k] + 1].tolist() if n != BREAK] for k in range(size.shape[0])]


@dataclass
class Result:
    routes: list[list[int]]
    objective: int
    iterations: int
    accepted: int


def run(
    c: Compiled,
    options: SolveOptions,
    deadline: float,
    warm: list[list[int]] | None = None,
    min_calls: int = 0,
) -> Result:
    """Ruin and recreate until `deadline` (wall clock, `time.perf_counter`); the best plan found.
    `min_calls`: search chunks run even past the deadline (the warm-up needs one to compile)."""
    kern = _kernel()

    a = arrays(c, options)
    state = empty_state(c, a)
    if warm is not None:
        load_routes(c, a, state, warm)
    pb = a.pack()
    seed = options.seed * 1_000_003 + 17
    kern.insert_all(state, pb, seed)
    cur_obj = int(kern.objective_of(state, pb))
    best = copy_state(state)
    best_obj = cur_obj
    served = max(1, int((state[6] >= 0).sum()))
    used = state[1] - a.has_brk > 0
    mean_arc = float(state[5][used].sum()) / (served + int(used.sum()))
    t_hot, t_cold = (f * max(1.0, mean_arc) for f in TEMPERATURE)
    t0 = time.perf_counter()
    span = max(1e-6, deadline - t0)
    iterations = accepted = 0
    chunk = 20  # iterations per kernel call: sized to about CHUNK_S once the speed is known
    per_it = 0.0
    calls = 0
    while True:
        now = time.perf_counter()
        left = deadline - now
        if left <= 0.005 and calls >= min_calls:
            break
        calls += 1
        frac = (now - t0) / span
        seed += 1
        if per_it > 0:
            chunk = max(10, int(min(CHUNK_S, left) / per_it))
        frac_end = min(1.0, frac + chunk * per_it / span)
        temp_from = t_hot * (t_cold / t_hot) ** frac
        temp_to = t_hot * (t_cold / t_hot) ** frac_end
        cur_obj, best_obj, acc = kern.search(
            state, best, cur_obj, best_obj, chunk, temp_from, temp_to, seed, pb
        )
        iterations += chunk
        accepted += acc
        # The first call includes loading (or compiling) the kernel: its speed is not the search's.
        per_it = (time.perf_counter() - now) / chunk if iterations > chunk else 0.0
    return Result(routes_of(best), int(best_obj), iterations, accepted)


def warm_up() -> int:
    """Compile the kernel (or load it from numba's on-disk cache) on a three-stop problem, so that the first
    real solve does not pay the compilation (several seconds) out of its time limit. `make` runs it at install
    time (`python -m routing.warm`), the Dockerfile at build time. Returns the iterations run."""
    from routing.compile import compile_problem
    from routing.model import Depot, Location, Problem, Stop, TimeWindow, TravelMatrix, Vehicle

    d = np.array([[0, 4, 5, 3], [4, 0, 2, 6], [5, 2, 0, 5], [3, 6, 5, 0]], dtype=np.float64)
    problem = Problem(
        depots=[Depot("D", Location(node=0))],
        vehicles=[
            Vehicle("V1", depot_id="D", capacity_items=2),
            Vehicle("V2", depot_id="D", capacity_items=2),
        ],
        stops=[Stop(f"S{i}", Location(node=i), TimeWindow(0, 100), 1) for i in (1, 2, 3)],
        matrix=TravelMatrix(d),
    )
    c = compile_problem(problem)
    return run(c, SolveOptions(time_limit_s=0.05), time.perf_counter() + 0.05, min_calls=1).iterations
