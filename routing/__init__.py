"""Pure route-optimisation library: dataclasses in, solution out (no web, no DB)."""

from routing.insertion import InsertionResult, can_insert
from routing.matrix import HaversineMatrix, geodesic_m, haversine_matrix_m
from routing.model import (
    Break,
    BreakTaken,
    Depot,
    Location,
    MatrixProvider,
    PickupDelivery,
    Problem,
    Route,
    Solution,
    SolveOptions,
    Stop,
    TimeWindow,
    TravelMatrix,
    Unassigned,
    Vehicle,
    Visit,
)
from routing.parallel import solve_async, solve_in_subprocess, solve_portfolio
from routing.scenario import province_day, sample_centroids
from routing.solver import solve

__all__ = [
    "Break",
    "BreakTaken",
    "Depot",
    "HaversineMatrix",
    "InsertionResult",
    "Location",
    "MatrixProvider",
    "PickupDelivery",
    "Problem",
    "Route",
    "Solution",
    "SolveOptions",
    "Stop",
    "TimeWindow",
    "TravelMatrix",
    "Unassigned",
    "Vehicle",
    "Visit",
    "can_insert",
    "geodesic_m",
    "haversine_matrix_m",
    "province_day",
    "sample_centroids",
    "solve",
    "solve_async",
    "solve_in_subprocess",
    "solve_portfolio",
]
