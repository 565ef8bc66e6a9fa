"""Readers for Solomon / Gehring & Homberger (VRPTW) and Li & Lim (PDPTW) files, and their BKS table."""

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from routing.model import (
    Depot,
    FloatArray,
    Location,
    PickupDelivery,
    Problem,
    Stop,
    TimeWindow,
    TravelMatrix,
    Vehicle,
)

SETS = {"solomon": "solomon", "lilim": "li_lim_100", "homberger": "homberger"}


def default_root() -> Path:
    env = os.environ.get("ROUTING_BENCH_ROOT")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return (repo / ".." / "shared" / "benchmarks" / "routing").resolve()


@dataclass
class Instance:
    name: str
    kind: str  # "vrptw" or "pdptw"
    vehicles: int
    capacity: int
    x: list[float]
    y: list[float]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]
    # PDPTW: pickup node -> delivery node
    pairs: dict[int, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.x)

    def distances(self) -> FloatArray:
        xy = np.column_stack([self.x, self.y]).astype(np.float64)
        diff = xy[:, None, :] - xy[None, :, :]
        return np.sqrt((diff**2).sum(axis=2))

    def distance(self, i: int, j: int) -> float:
        return math.hypot(self.x[i] - self.x[j], self.y[i] - self.y[j])


def read_solomon(path: Path) -> Instance:
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    name = lines[0]
    k = q = 0
    rows: list[list[int]] = []
    for i, ln in enumerate(lines):
        if ln.upper().startswith("NUMBER") and "CAPACITY" in ln.upper():
            k, q = (int(v) for v in lines[i + 1].split()[:2])
        parts = ln.split()
        if len(parts) == 7 and all(p.lstrip("-").isdigit() for p in parts):
            rows.append([int(p) for p in parts])
    rows.sort(key=lambda r: r[0])
    cols = list(zip(*rows, strict=True))
    return Instance(
        name=name,
        kind="vrptw",
        vehicles=k,
        capacity=q,
        x=[float(v) for v in cols[1]],
        y=[float(v) for v in cols[2]],
        demand=list(cols[3]),
        ready=list(cols[4]),
        due=list(cols[5]),
        service=list(cols[6]),
    )


def read_lilim(path: Path) -> Instance:
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    k, q = int(lines[0][0]), int(lines[0][1])
    rows = sorted(([int(float(v)) for v in ln] for ln in lines[1:]), key=lambda r: r[0])
    pairs = {r[0]: r[8] for r in rows if r[0] != 0 and r[7] == 0}
    cols = list(zip(*rows, strict=True))
    return Instance(
        name=path.stem,
        kind="pdptw",
        vehicles=k,
        capacity=q,
        x=[float(v) for v in cols[1]],
        y=[float(v) for v in cols[2]],
        demand=list(cols[3]),
        ready=list(cols[4]),
        due=list(cols[5]),
        service=list(cols[6]),
        pairs=pairs,
    )


def find_instance(root: Path, name: str) -> Path:
    low = name.lower()
    for sub in SETS.values():
        d = root / sub
        if not d.is_dir():
            continue
        for p in d.iterdir():
            if p.stem.lower() == low:
                return p
    raise FileNotFoundError(f"instance {name} not found under {root}")


def expand(root: Path, names: list[str]) -> list[Path]:
    """Set names (``solomon``, ``lilim``, ``homberger``), instance names under ``root``, or paths of
    instance files anywhere (a file a user has, in either format)."""
    out: list[Path] = []
    for name in names:
        if name.lower() in SETS:
            out.extend(sorted((root / SETS[name.lower()]).glob("*.txt")))
        elif Path(name).is_file():
            out.append(Path(name))
        else:
            out.append(find_instance(root, name))
    return out


def is_lilim(path: Path) -> bool:
    """Li & Lim's PDPTW files open with "vehicles capacity speed" and have 9 numbers a row; Solomon and
    Gehring & Homberger files open with the instance's name, then a VEHICLE section."""
    with path.open() as f:
        for line in f:
            parts = line.split()
            if parts:
                return len(parts) == 3 and all(p.replace(".", "", 1).isdigit() for p in parts)
    return False


def read_instance(path: Path) -> Instance:
    return read_lilim(path) if is_lilim(path) else read_solomon(path)


def to_problem(inst: Instance, fleet: int | None = None) -> Problem:
    """Benchmark instance as a library Problem: node i = customer i, travel time = distance."""
    dist = inst.distances()
    depot = Depot("0", Location(node=0), opens=inst.ready[0], closes=inst.due[0])
    k = fleet if fleet is not None else inst.vehicles
    vehicles = [
        Vehicle(
            id=str(v),
            depot_id="0",
            shift_start=inst.ready[0],
            shift_end=inst.due[0],
            capacity_items=inst.capacity,
        )
        for v in range(k)
    ]
    stops = []
    for i in range(1, inst.n):
        stops.append(
            Stop(
                id=str(i),
                location=Location(node=i),
                window=TimeWindow(inst.ready[i], inst.due[i]),
                service_time=inst.service[i],
                items=abs(inst.demand[i]),
            )
        )
    pairs = [PickupDelivery(str(p), str(d)) for p, d in inst.pairs.items()]
    return Problem(
        depots=[depot], vehicles=vehicles, stops=stops, pairs=pairs, matrix=TravelMatrix(dist, dist)
    )


@dataclass
class Bks:
    vehicles: int
    distance: float
    convention: str


def read_bks(root: Path) -> dict[str, dict[str, Bks]]:
    out: dict[str, dict[str, Bks]] = {}
    with (root / "BKS.csv").open() as f:
        for row in csv.DictReader(f):
            conv = row["objective_convention"]
            out.setdefault(row["instance"].lower(), {})[conv] = Bks(
                int(row["vehicles"]), float(row["distance"]), conv
            )
    return out


def truncate(inst: Instance, customers: int) -> Instance:
    """First `customers` nodes (PDPTW: only pairs whose both ends are among them), renumbered 1..n."""
    keep = [i for i in range(1, min(customers, inst.n - 1) + 1)]
    if inst.kind == "pdptw":
        pickup_of = {d: p for p, d in inst.pairs.items()}
        keep = [i for i in keep if inst.pairs.get(i, pickup_of.get(i, 0)) in keep]
    order = [0, *keep]
    new = {old: k for k, old in enumerate(order)}
    return Instance(
        name=f"{inst.name}_{len(keep)}",
        kind=inst.kind,
        vehicles=inst.vehicles,
        capacity=inst.capacity,
        x=[inst.x[i] for i in order],
        y=[inst.y[i] for i in order],
        demand=[inst.demand[i] for i in order],
        ready=[inst.ready[i] for i in order],
        due=[inst.due[i] for i in order],
        service=[inst.service[i] for i in order],
        pairs={new[p]: new[d] for p, d in inst.pairs.items() if p in new and d in new},
    )
