"""Plans: ask for one (``submitting``), solve it (``solving`` and ``storing``, run by ``worker``), read it
(``reading``, ``maps``), publish it (``publishing``), re-plan from where couriers are (``replanning``).

Access (``access``): a post office's dispatchers see and plan only their own office's days; admins see all.
A plan of another office answers 404, like an unknown id, so nothing is learned about other offices.
"""

from backend.planning.services.access import post_office, visible_plan
from backend.planning.services.appointments import bump_appointment
from backend.planning.services.maps import plan_map
from backend.planning.services.publishing import publish
from backend.planning.services.reading import list_plans, plan_detail, plan_summary, stop_out, window_of
from backend.planning.services.replanning import latest_position
from backend.planning.services.solving import SolveJob, prepare_solve
from backend.planning.services.storing import store_solution
from backend.planning.services.submitting import create_plan, replan

__all__ = [
    "SolveJob",
    "bump_appointment",
    "create_plan",
    "latest_position",
    "list_plans",
    "plan_detail",
    "plan_map",
    "plan_summary",
    "post_office",
    "prepare_solve",
    "publish",
    "replan",
    "stop_out",
    "store_solution",
    "visible_plan",
    "window_of",
]
