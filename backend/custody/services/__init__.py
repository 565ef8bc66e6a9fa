"""Dossier custody: creation (home pickup, counter, desk), events, the legal clock, results and delivery.

Modules by job:

* ``access``: loading a dossier (by its HS or KQ id), who may read it and who may act on it;
* ``clock``: event times from devices, a dossier's timeliness;
* ``verification``: the citizen's code of the day, recipient checks, uploaded proofs;
* ``creation``: a new dossier and the checks at intake;
* ``events``: recording an event (transition, custodian, event row, notifications, desk feed);
* ``side_effects``: the steps each code runs besides its transition, listed in ``backend/custody/effects.py``.

Handovers and queries live in ``backend/custody/handovers.py`` and ``views.py``. The names below are the ones
the rest of the code uses.
"""

from backend.custody.services.access import (
    ORG_CUSTODY,
    Actor,
    actor_for,
    load_dossier,
    may_act,
    org_by_code,
    result_of,
    staff_ids,
    was_custodian,
)
from backend.custody.services.clock import CLIENT_MAX_AGE, CLIENT_SKEW, event_time, timeliness_now
from backend.custody.services.creation import check_documents, create_dossier, default_desk, filing_commune
from backend.custody.services.events import Effects, handover_transition, record_event
from backend.custody.services.side_effects import DELIVERY_FAILURES, max_delivery_attempts
from backend.custody.services.verification import (
    check_confirmation,
    check_recipient,
    citing_dossiers,
    code_matches,
    handover_code,
    owns_proof,
    require_proof,
)

__all__ = [
    "CLIENT_MAX_AGE",
    "CLIENT_SKEW",
    "DELIVERY_FAILURES",
    "ORG_CUSTODY",
    "Actor",
    "Effects",
    "actor_for",
    "check_confirmation",
    "check_documents",
    "check_recipient",
    "citing_dossiers",
    "code_matches",
    "create_dossier",
    "default_desk",
    "event_time",
    "filing_commune",
    "handover_code",
    "handover_transition",
    "load_dossier",
    "max_delivery_attempts",
    "may_act",
    "org_by_code",
    "owns_proof",
    "record_event",
    "require_proof",
    "result_of",
    "staff_ids",
    "timeliness_now",
    "was_custodian",
]
