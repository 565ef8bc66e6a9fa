"""Independent solution checker for VRPTW / PDPTW benchmark instances (shares no code with the solver).

Conventions: "double" = Euclidean distance in double precision, travel time = distance; "trunc1" (DIMACS) =
every arc's distance and travel time truncated to one decimal, floor(10 d) / 10.
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

from routing.bench.instances import Instance

EPS = 1e-6


@dataclass
class CheckResult:
    feasible: bool
    vehicles: int
    distance: float
    violations: list[str] = field(default_factory=list)
    max_lateness: float = 0.0


def arc(inst: Instance, i: int, j: int, convention: str) -> float:
    d = math.hypot(inst.x[i] - inst.x[j], inst.y[i] - inst.y[j])
    if convention == "trunc1":
        return math.floor(10 * d + 1e-9) / 10
    return d


def check(inst: Instance, routes: list[list[int]], convention: str = "double") -> CheckResult:
    viol: list[str] = []
    seen: dict[int, int] = {}
    total = 0.0
    max_late = 0.0
    used = [r for r in routes if r]
    if len(used) > inst.vehicles:
        viol.append(f"{len(used)} routes > fleet {inst.vehicles}")
    delivery_of = inst.pairs
    pickup_of = {d: p for p, d in delivery_of.items()}
    for k, route in enumerate(used):
        t = float(inst.ready[0])
        load = 0
        prev = 0
        pos: dict[int, int] = {}
        for p, c in enumerate(route):
            if not 0 < c < inst.n:
                viol.append(f"route {k}: bad node {c}")
                continue
            if c in seen:
                viol.append(f"node {c} served twice")
            seen[c] = k
            pos[c] = p
            d = arc(inst, prev, c, convention)
            total += d
            t = max(t + d, float(inst.ready[c]))
            if t > inst.due[c] + EPS:
                max_late = max(max_late, t - inst.due[c])
                viol.append(f"route {k}: node {c} starts at {t:.4f} > due {inst.due[c]}")
            t += inst.service[c]
            if inst.kind == "pdptw":
                load += inst.demand[c]
                if load < 0:
                    viol.append(f"route {k}: negative load at {c}")
            else:
                load += inst.demand[c]
            if load > inst.capacity:
                viol.append(f"route {k}: load {load} > {inst.capacity} at {c}")
            prev = c
        d = arc(inst, prev, 0, convention)
        total += d
        t += d
        if t > inst.due[0] + EPS:
            max_late = max(max_late, t - inst.due[0])
            viol.append(f"route {k}: back at depot {t:.4f} > {inst.due[0]}")
        for c in route:
            if c in delivery_of:
                dnode = delivery_of[c]
                if dnode not in pos:
                    viol.append(f"pickup {c} and delivery {dnode} on different routes")
                elif pos[dnode] < pos[c]:
                    viol.append(f"delivery {dnode} before pickup {c}")
            if c in pickup_of and pickup_of[c] not in pos:
                viol.append(f"delivery {c} without its pickup on the route")
    missing = [c for c in range(1, inst.n) if c not in seen]
    if missing:
        viol.append(f"{len(missing)} nodes not served (e.g. {missing[:5]})")
    return CheckResult(not viol, len(used), total, viol, max_late)


def read_vrplib_sol(path: Path) -> list[list[int]]:
    routes = []
    for ln in path.read_text().splitlines():
        if ln.strip().lower().startswith("route"):
            routes.append([int(v) for v in ln.split(":", 1)[1].split()])
    return routes


def read_lkh_tour(path: Path, customers: int) -> list[list[int]]:
    """LKH-3 TSPLIB tour: node 1 = depot, node i+1 = customer i, nodes > customers + 1 are depot copies."""
    nodes: list[int] = []
    in_tour = False
    for ln in path.read_text().splitlines():
        s = ln.strip()
        if s == "TOUR_SECTION":
            in_tour = True
            continue
        if in_tour:
            if s in ("-1", "EOF"):
                break
            nodes.append(int(s))
    routes: list[list[int]] = []
    cur: list[int] = []
    for v in nodes:
        if v == 1 or v > customers + 1:
            if cur:
                routes.append(cur)
            cur = []
        else:
            cur.append(v - 1)
    if cur:
        routes.append(cur)
    return routes


def write_vrplib_sol(path: Path, routes: list[list[int]], cost: float) -> None:
    lines = [f"Route #{k + 1}: {' '.join(str(c) for c in r)}" for k, r in enumerate(r for r in routes if r)]
    lines.append(f"Cost {cost:.2f}")
    path.write_text("\n".join(lines) + "\n")
