"""How much solving a plan request may ask for. The request side (``services.submitting``) and the solve
(``services.solving``) read these; the worker that runs the solves does not, so they live apart from it and
the services never import the worker (which imports them)."""

# A plan's solver time budget when the request names none.
DEFAULT_TIME_LIMIT_S = 10.0
# Solves one post office may have queued or running at once (one per day at most, a unique index): past it a
# request is refused with a 429 rather than queueing hours of solves (issue 17). Waiting solves take turns
# between offices (``worker.FairGate``), so one office's queue never holds another's back by more than one
# solve each.
MAX_IN_PROGRESS_PER_OFFICE = 3
