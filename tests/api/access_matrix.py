"""The access matrix: who may call each operation of the API, and on whose records. Plain data.

One row per operation of the OpenAPI document (``METHOD path``). A row names the roles that may call the
operation and, when the operation acts on a record (a path id, or the records a listing returns), how far
each role reaches:

* ``any``: every record (admins; the province's appointments for a desk clerk);
* ``org``: the records of the caller's organisation (a dispatcher's or courier's post office, a desk, an
  agency) — and, for a citizen, their own;
* ``own``: the caller's own records: a citizen's own, a courier's own (assigned on a published plan,
  carried, uploaded), an organisation's staff's organisation's;
* ``self``: strictly the caller's own record, whatever the role (a device token, one's own account);
* ``none``: the role may call the operation but none of the test's records is its (an empty listing).

Each operation is called with a record from one of four **scopes**, built for the test:

* ``own``: the caller's own (citizen ``C1``, post office ``A``, courier ``A1``, desk and agency of ``A``; an
  ``account`` is one of couriers made for the test, so that ending its sessions ends nobody else's);
* ``other_citizen``: another citizen's (``C2``), otherwise the same office, courier and desk;
* ``other_courier``: citizen ``C1``'s, but carried by or assigned to the other courier of office ``A`` (for
  ``held_dossier``: one that courier ``A1`` picked up and handed to that courier, a former custodian's; for
  ``late_dossier`` the same, with a late event dated after the handover, in the other courier's stretch);
* ``other_org``: everything else (citizen ``C3``, post office ``B``, its courier, desk and agency).

From a row the expected outcome of each (role, scope) cell follows (``expected``):

* ``ok``: authorised — a 2xx, or a 4xx other than 401/403/404 (a business refusal such as 409/422 after the
  access checks);
* ``401``: anonymous on an operation that is not public;
* ``deny``: 403, or 404 (the record's existence hidden, Decree 13/2023/NĐ-CP);
* for listings, ``listed`` / ``unlisted``: the record is (is not) in the caller's answer (an unlisted cell is
  also met by a 403/404 for the whole listing).

``tests/api/test_access_matrix.py`` reads the served OpenAPI document, fails when an operation has no row or a
row no operation, and makes one real request per cell. ``docs/security.md`` shows the matrix rendered by
``render_markdown`` (``python -m tests.api.access_matrix`` rewrites it; a test checks it is in step).
"""

import sys
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("anonymous", "citizen", "courier", "dispatcher", "desk", "agency", "admin", "leadership")
STAFF = ("courier", "dispatcher", "desk", "agency", "admin")
SCOPES = ("own", "other_citizen", "other_courier", "other_org")
LEVELS = ("any", "org", "own", "self", "none")


@dataclass(frozen=True)
class Row:
    """``target``: the kind of record the operation acts on (None: none, the cells are per role only);
    ``listing``: the operation lists records of that kind (cells check what is listed);
    ``roles``: role -> level (``any``, ``org``, ``own``, ``self``); a role not named may not call it;
    ``public``: anonymous callers are served; ``scopes``: the scopes that apply (default all four);
    ``deny``: statuses that count as a refusal besides 403 and 404 (e.g. 409 for a token owned by another);
    ``entries``: a batch answered 200 with one result per entry: the entry's own error decides (a refusal is
    ``not_found``, ``forbidden`` or ``not_custodian_then``, as a 404/403 would be);
    ``note``: why, shown in docs/security.md."""

    target: str | None = None
    roles: dict[str, str] = field(default_factory=dict)
    public: bool = False
    listing: bool = False
    scopes: tuple[str, ...] = SCOPES
    deny: tuple[int, ...] = ()
    entries: bool = False
    note: str = ""


def _all(level: str = "any") -> dict[str, str]:
    return {r: level for r in ROLES if r != "anonymous"}


def _all_but_leadership(level: str) -> dict[str, str]:
    """Every signed-in role but province leadership, which is read-only and has no inbox (issue 23)."""
    return {r: level for r in ROLES if r not in ("anonymous", "leadership")}


def _staff(level: str = "any") -> dict[str, str]:
    return {r: level for r in STAFF}


ORG_SCOPES = ("own", "other_org")  # records of an organisation: the citizen and courier do not vary
COURIER_SCOPES = ("own", "other_courier", "other_org")
CITIZEN_SCOPES = ("own", "other_citizen", "other_org")

MATRIX: dict[str, Row] = {
    # --- public and sign-in -------------------------------------------------------------------------
    "GET /health": Row(public=True, roles=_all(), note="liveness"),
    "GET /problems": Row(public=True, roles=_all(), note="what each problem code means (HTML)"),
    "GET /problems/{code}": Row(public=True, roles=_all(), note="a problem's `type` page (HTML)"),
    "POST /api/v1/auth/staff/login": Row(public=True, roles=_all(), note="sign-in"),
    "POST /api/v1/auth/citizen/otp": Row(public=True, roles=_all(), note="sign-in"),
    "POST /api/v1/auth/citizen/verify": Row(public=True, roles=_all(), note="sign-in"),
    "POST /api/v1/auth/firebase": Row(public=True, roles=_all(), note="sign-in (503 when not configured)"),
    "POST /api/v1/auth/logout-all": Row(roles=_all("self"), note="ends every session of one's own account"),
    "GET /api/v1/slots": Row(public=True, roles=_all(), note="free windows, no personal data"),
    "GET /api/v1/calendar": Row(public=True, roles=_all(), note="working calendar"),
    "GET /api/v1/track/{item_id}": Row(
        public=True, roles=_all(), note="public tracking: statuses, times, office names only"
    ),
    "GET /api/v1/tracking-links/{token}": Row(
        public=True,
        roles=_all(),
        note="a visit's live tracking link: window, ETA, stops before, the courier's position to ~100 m only "
        "while heading there; no person, address, dossier or courier; the token is the key (404 forged, "
        "410 ended)",
    ),
    "GET /api/v1/units/provinces": Row(public=True, roles=_all(), note="reference data"),
    "GET /api/v1/units/communes": Row(public=True, roles=_all(), note="reference data"),
    "GET /api/v1/organisations": Row(public=True, roles=_all(), note="reference data"),
    "GET /api/v1/organisations/{code}": Row(public=True, roles=_all(), note="reference data"),
    "GET /api/v1/procedures": Row(public=True, roles=_all(), note="reference data"),
    "GET /api/v1/procedures/{code}": Row(public=True, roles=_all(), note="reference data"),
    # --- accounts -----------------------------------------------------------------------------------
    "GET /api/v1/me": Row(roles=_all("self"), note="one's own account"),
    "POST /api/v1/me/addresses": Row(roles={"citizen": "self"}, note="a citizen's saved addresses"),
    "DELETE /api/v1/me/addresses/{address_id}": Row(
        target="address",
        roles={"citizen": "self"},
        scopes=CITIZEN_SCOPES,
        note="a citizen's own address only",
    ),
    "GET /api/v1/citizens/{citizen_id}": Row(
        target="citizen",
        roles={"citizen": "self", "dispatcher": "org", "desk": "org", "agency": "none", "admin": "any"},
        scopes=CITIZEN_SCOPES,
        note="the citizen; staff whose task needs it: the office that has the citizen's booking, the desk "
        "of the citizen's open dossier, an agency deciding it (none here); couriers see their stops (item 8)",
    ),
    "GET /api/v1/staff": Row(
        target="staff",
        listing=True,
        roles={"dispatcher": "org", "desk": "none", "agency": "none", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="staff accounts: one's own organisation's (the couriers here are a post office's)",
    ),
    "POST /api/v1/staff": Row(roles={"admin": "any"}, note="create an account"),
    "POST /api/v1/staff/{user_id}/revoke-sessions": Row(
        target="account", roles={"admin": "any"}, scopes=COURIER_SCOPES, note="end an account's sessions"
    ),
    "PATCH /api/v1/staff/{user_id}": Row(
        target="account", roles={"admin": "any"}, scopes=COURIER_SCOPES, note="change or disable an account"
    ),
    "GET /api/v1/staff/{user_id}/events": Row(
        target="staff",
        roles={"admin": "any"},
        scopes=COURIER_SCOPES,
        note="an account's changes: who, when, from where (no password, hash or token)",
    ),
    "GET /api/v1/couriers/{user_id}/profile": Row(
        target="staff",
        roles={"courier": "own", "dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="shifts, vehicle, home base",
    ),
    "PUT /api/v1/couriers/{user_id}/profile": Row(
        target="account",
        roles={"dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="shifts, vehicle",
    ),
    "GET /api/v1/couriers/{user_id}/shift-versions": Row(
        target="staff",
        roles={"courier": "own", "dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="shifts by date: scheduled, applied, cancelled",
    ),
    "POST /api/v1/couriers/{user_id}/shift-versions": Row(
        target="account",
        roles={"dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="shifts from a day on (issue 23)",
    ),
    "POST /api/v1/couriers/{user_id}/shift-versions/cancel": Row(
        target="account",
        roles={"dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="cancel shifts scheduled from a day",
    ),
    "GET /api/v1/console/couriers": Row(
        roles={"dispatcher": "org", "admin": "any"}, note="couriers' last positions (own office)"
    ),
    # The agency console (issue 23): its queue, receiving by scan (before the receipt, so "incoming" lists it).
    "GET /api/v1/console/agency/dossiers": Row(
        target="agency_dossier",
        listing=True,
        roles={"agency": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="an agency's queue (own agency; admins any): applicant's name only, no phone or address",
    ),
    "POST /api/v1/console/agency/receive": Row(
        target="agency_dossier",
        roles={"agency": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="receive a dossier on a desk's handover to one's own agency (another's: the unknown id's 404)",
    ),
    "GET /api/v1/citizens/me/data-access": Row(
        roles={"citizen": "self"}, note="who read my personal data (Decree 13/2023/NĐ-CP art. 9)"
    ),
    # --- identity (issue 20): profile, national id, authorised persons, checks at the counter ---------
    "GET /api/v1/citizens/me": Row(
        roles={"citizen": "self"}, note="one's own profile, the national id in full"
    ),
    "PATCH /api/v1/citizens/me": Row(
        roles={"citizen": "self"}, note="name, language, national id (CCCD structure checked)"
    ),
    "GET /api/v1/citizens/me/authorisations": Row(
        roles={"citizen": "self"}, note="one's own authorised persons (giấy ủy quyền)"
    ),
    "POST /api/v1/citizens/me/authorisations": Row(
        roles={"citizen": "self"}, note="authorise a person, with the signed letter's photo"
    ),
    "POST /api/v1/authorisations/{authorisation_id}/revoke": Row(
        target="authorisation", roles={"citizen": "own"}, scopes=CITIZEN_SCOPES, note="one's own only"
    ),
    "GET /api/v1/authorisations/{authorisation_id}/letter": Row(
        target="authorisation",
        roles={"citizen": "own", "courier": "none", "desk": "org"},
        scopes=CITIZEN_SCOPES,
        note="the letter's photo: its citizen; a desk with a task for the citizen; a courier only while "
        "delivering a dossier it covers (none here)",
    ),
    "POST /api/v1/authorisations/{authorisation_id}/verify": Row(
        target="authorisation",
        roles={"desk": "org"},
        scopes=CITIZEN_SCOPES,
        note="a desk with a task for the citizen checks the person's card (number compared, never shown)",
    ),
    "POST /api/v1/citizens/{citizen_id}/national-id/verify": Row(
        target="citizen",
        roles={"desk": "org"},
        scopes=CITIZEN_SCOPES,
        note="a desk with a task for the citizen checks the card (number compared, never shown)",
    ),
    "PUT /api/v1/citizens/{citizen_id}/exempt-groups": Row(
        target="citizen",
        roles={"desk": "org", "admin": "any"},
        scopes=CITIZEN_SCOPES,
        note="a desk with a task for the citizen records the exempt groups it checked (codes only, no papers)",
    ),
    "GET /api/v1/audit/personal-data": Row(roles={"admin": "any"}, note="staff reads of citizens' data"),
    # --- calendar, reports --------------------------------------------------------------------------
    "PUT /api/v1/calendar/overrides/{day}": Row(roles={"admin": "any"}, note="government decisions"),
    "DELETE /api/v1/calendar/overrides/{day}": Row(roles={"admin": "any"}, note="government decisions"),
    "GET /api/v1/reports/dossiers": Row(
        roles={"desk": "org", "agency": "org", "admin": "any"}, note="form II.06a"
    ),
    "POST /api/v1/reports/imports": Row(roles={"admin": "any"}, note="import past dossiers"),
    # --- province leadership (backend/reporting/leadership*.py, issue 23): own province (O: another) --------
    "GET /api/v1/reports/province/dossiers": Row(
        target="province",
        roles={"leadership": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="form II.06a by commune, post office, agency, procedure, field or month, units without dossiers "
        "listed; leadership its own province",
    ),
    "GET /api/v1/reports/province/legs": Row(
        target="province",
        roles={"leadership": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="time per leg of the chain, postal share of the legal clock, slowest legs by item id only",
    ),
    "GET /api/v1/reports/province/scorecards": Row(
        target="province",
        roles={"leadership": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="couriers (by username and office, no names) and desks: visits, on time, failed, ratings",
    ),
    # --- satisfaction and complaints (backend/feedback, issue 23) -------------------------------------
    "GET /api/v1/reports/ratings": Row(
        roles={"dispatcher": "org", "desk": "org", "leadership": "org", "admin": "any"},
        note="ratings' means by courier, office or desk and month: one's own office or desk, leadership its "
        "province's; no comments",
    ),
    "GET /api/v1/reports/complaints": Row(
        roles={"dispatcher": "org", "desk": "org", "agency": "org", "leadership": "org", "admin": "any"},
        note="complaints by category, organisation, month: those one's organisation received or handles, "
        "leadership its province's organisations'",
    ),
    "GET /api/v1/appointments/{appointment_id}/rating": Row(
        target="appointment",
        roles={"citizen": "own", "dispatcher": "org", "admin": "any"},
        note="a visit's rating, without who gave it; never couriers",
    ),
    "POST /api/v1/appointments/{appointment_id}/rating": Row(
        target="appointment", roles={"citizen": "own"}, note="rate one's own completed visit, once"
    ),
    "PATCH /api/v1/appointments/{appointment_id}/rating": Row(
        target="appointment", roles={"citizen": "own"}, note="change one's rating within the edit window"
    ),
    "POST /api/v1/complaints": Row(roles={"citizen": "own"}, note="file a complaint about one's own visit"),
    "GET /api/v1/complaints": Row(
        target="complaint",
        listing=True,
        roles={"citizen": "own", "dispatcher": "org", "desk": "none", "agency": "none", "admin": "any"},
        scopes=CITIZEN_SCOPES,
        note="staff: those their organisation received or is responsible for, never who filed them",
    ),
    "GET /api/v1/complaints/{complaint_id}": Row(
        target="complaint",
        roles={"citizen": "own", "dispatcher": "org", "desk": "none", "agency": "none", "admin": "any"},
        scopes=CITIZEN_SCOPES,
        note="staff: those their organisation received or is responsible for, never who filed them",
    ),
    "POST /api/v1/complaints/{complaint_id}/assign": Row(
        target="complaint",
        roles={"dispatcher": "org", "desk": "none", "agency": "none", "admin": "any"},
        scopes=CITIZEN_SCOPES,
        note="the receiving or responsible organisation's staff",
    ),
    "POST /api/v1/complaints/{complaint_id}/answer": Row(
        target="complaint",
        roles={"dispatcher": "org", "desk": "none", "agency": "none", "admin": "any"},
        scopes=CITIZEN_SCOPES,
        note="the responsible organisation's staff",
    ),
    "POST /api/v1/complaints/{complaint_id}/close": Row(
        target="complaint",
        roles={"citizen": "own", "dispatcher": "org", "desk": "none", "agency": "none", "admin": "any"},
        scopes=CITIZEN_SCOPES,
        note="its citizen, the responsible organisation's staff",
    ),
    "POST /api/v1/complaints/{complaint_id}/reopen": Row(
        target="complaint", roles={"citizen": "own"}, scopes=CITIZEN_SCOPES, note="its citizen, once"
    ),
    # --- booking ------------------------------------------------------------------------------------
    "POST /api/v1/appointments": Row(
        roles={"citizen": "own", "desk": "org", "dispatcher": "org"}, note="book a home visit"
    ),
    "GET /api/v1/appointments": Row(
        target="appointment",
        listing=True,
        roles={"citizen": "own", "courier": "own", "dispatcher": "org", "desk": "any", "admin": "any"},
        note="courier: visits on their published route (item 9); desk: the province's; agency: none",
    ),
    "GET /api/v1/appointments/{appointment_id}": Row(
        target="appointment",
        roles={"citizen": "own", "courier": "own", "dispatcher": "org", "desk": "any", "admin": "any"},
        note="as the listing",
    ),
    "PATCH /api/v1/appointments/{appointment_id}": Row(
        target="appointment",
        roles={"citizen": "own", "dispatcher": "org", "desk": "any", "admin": "any"},
        note="reschedule",
    ),
    "POST /api/v1/appointments/{appointment_id}/cancel": Row(
        target="appointment",
        roles={"citizen": "own", "dispatcher": "org", "desk": "any", "admin": "any"},
        note="cancel",
    ),
    "POST /api/v1/appointments/{appointment_id}/tracking-link/revoke": Row(
        target="appointment",
        roles={"citizen": "own", "dispatcher": "org", "admin": "any"},
        note="stop the visit's live tracking link: its citizen, its office's dispatchers",
    ),
    "POST /api/v1/appointments/{appointment_id}/no-show": Row(
        target="appointment",
        roles={"courier": "own", "dispatcher": "org", "admin": "any"},
        note="the visit's courier only among couriers (item 9)",
    ),
    "POST /api/v1/appointments/{appointment_id}/fail": Row(
        target="appointment",
        roles={"courier": "own", "dispatcher": "org", "admin": "any"},
        note="the visit's courier only among couriers (item 9)",
    ),
    "GET /api/v1/post-offices/{office}/booking-settings": Row(
        target="office", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="office rules"
    ),
    "PUT /api/v1/post-offices/{office}/booking-settings": Row(
        target="office", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="office rules"
    ),
    # --- planning -----------------------------------------------------------------------------------
    "GET /api/v1/post-offices/{office}/plans": Row(
        target="office", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="route plans"
    ),
    "POST /api/v1/post-offices/{office}/plans": Row(
        target="office", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="start a solve"
    ),
    "GET /api/v1/plans/{plan_id}": Row(
        target="plan", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="a plan"
    ),
    "GET /api/v1/plans/{plan_id}/map.svg": Row(
        target="plan", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="a plan's map"
    ),
    "POST /api/v1/plans/{plan_id}/publish": Row(
        target="plan", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="publish"
    ),
    "POST /api/v1/plans/{plan_id}/replan": Row(
        target="plan", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="re-plan"
    ),
    "POST /api/v1/plan-stops/{stop_id}/move": Row(
        target="stop", roles={"dispatcher": "org", "admin": "any"}, scopes=COURIER_SCOPES, note="move a stop"
    ),
    "POST /api/v1/plan-stops/{stop_id}/pin": Row(
        target="stop", roles={"dispatcher": "org", "admin": "any"}, scopes=COURIER_SCOPES, note="pin a stop"
    ),
    "POST /api/v1/plan-stops/{stop_id}/unpin": Row(
        target="stop", roles={"dispatcher": "org", "admin": "any"}, scopes=COURIER_SCOPES, note="unpin a stop"
    ),
    "GET /api/v1/couriers/me/route": Row(roles={"courier": "self"}, note="the courier's published route"),
    "POST /api/v1/couriers/me/location": Row(roles={"courier": "self"}, note="position report"),
    "POST /api/v1/couriers/me/stops/{stop_id}/start": Row(
        target="stop", roles={"courier": "own"}, scopes=COURIER_SCOPES, note="a stop of one's own route"
    ),
    "POST /api/v1/couriers/me/stops/{stop_id}/complete": Row(
        target="stop", roles={"courier": "own"}, scopes=COURIER_SCOPES, note="a stop of one's own route"
    ),
    "POST /api/v1/couriers/me/stops/{stop_id}/fail": Row(
        target="stop", roles={"courier": "own"}, scopes=COURIER_SCOPES, note="a stop of one's own route"
    ),
    # --- custody ------------------------------------------------------------------------------------
    "GET /api/v1/dossiers": Row(
        target="dossier",
        listing=True,
        roles={
            "citizen": "own",
            "courier": "own",
            "dispatcher": "org",
            "desk": "org",
            "agency": "none",
            "admin": "any",
        },
        note="citizen: own; courier: carried; staff: their organisation has or had it (no agency yet here)",
    ),
    "POST /api/v1/dossiers": Row(
        roles={"courier": "org", "dispatcher": "org", "desk": "org", "admin": "any"}, note="receive a dossier"
    ),
    "GET /api/v1/dossiers/{item_id}": Row(
        target="dossier",
        roles={
            "citizen": "own",
            "courier": "own",
            "dispatcher": "org",
            "desk": "org",
            "agency": "none",
            "admin": "any",
        },
        note="as the listing",
    ),
    "POST /api/v1/dossiers/{item_id}/events": Row(
        target="held_dossier",
        roles={"courier": "own", "dispatcher": "org", "admin": "any"},
        note="the paper in hand: its courier or the courier's office, never a former custodian (item 10)",
    ),
    # --- closing loops (issue 20): supplements on their dossier, returns of results and papers ---------
    "GET /api/v1/dossiers/{item_id}/return-offer": Row(
        target="dossier",
        roles={"citizen": "own", "admin": "any"},
        note="the dossier's own citizen: the delivery windows offered for its result or returned papers",
    ),
    "POST /api/v1/dossiers/{item_id}/return-offer": Row(
        target="dossier",
        roles={"citizen": "own", "admin": "any"},
        note="the dossier's own citizen chooses a delivery window",
    ),
    "PUT /api/v1/dossiers/{item_id}/postal-return": Row(
        target="dossier",
        roles={"citizen": "own", "admin": "any"},
        note="the dossier's own citizen: postal return or counter pickup, until the result leaves the desk",
    ),
    "POST /api/v1/dossiers/{item_id}/supplements": Row(
        target="dossier",
        roles={"courier": "org", "dispatcher": "org", "admin": "any"},
        note="the supplement at the door: staff of the visit's post office (else the dossier's)",
    ),
    "POST /api/v1/events/batch": Row(
        target="late_dossier",
        roles={"courier": "own", "dispatcher": "org"},
        entries=True,
        note="offline sync: a late event only from whoever held the dossier at its time (item 10)",
    ),
    "GET /api/v1/handover-code": Row(roles={"citizen": "self"}, note="the citizen's code for today"),
    "POST /api/v1/couriers/me/item-ids": Row(roles={"courier": "self"}, note="labels for offline pickups"),
    "GET /api/v1/handovers": Row(
        target="handover",
        listing=True,
        roles={"courier": "own", "dispatcher": "org", "desk": "none", "agency": "none", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="the handovers one's organisation (a courier: oneself) sends or receives",
    ),
    "POST /api/v1/handovers": Row(roles=_staff("org"), note="hand dossiers over (items checked in hand)"),
    "GET /api/v1/handovers/{handover_id}": Row(
        target="handover",
        roles={"courier": "own", "dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="its sender and receiver (here: a courier of office A hands to office A)",
    ),
    "POST /api/v1/handovers/{handover_id}/confirm": Row(
        target="handover",
        roles={"dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="the receiving office only (the sending courier may not confirm)",
    ),
    "POST /api/v1/proofs": Row(
        roles={"courier": "self", "dispatcher": "org", "desk": "org", "admin": "any"}, note="upload an image"
    ),
    "GET /api/v1/proofs/{proof_id}": Row(
        target="proof",
        roles={"courier": "own", "dispatcher": "org", "admin": "any"},
        scopes=COURIER_SCOPES,
        note="its uploader, staff of the uploader's office, readers of a dossier that cites it (none here)",
    ),
    "GET /api/v1/dossiers/{item_id}/recipients": Row(
        target="dossier",
        roles={"courier": "none", "desk": "none"},
        note="who may receive the result: only its courier out for delivery, or the desk where it waits "
        "(none here); numbers masked (issue 20)",
    ),
    # --- notices ------------------------------------------------------------------------------------
    "POST /api/v1/devices": Row(
        target="device",
        roles=_all_but_leadership("self"),
        deny=(409,),
        note="one's own push token; another account's token is not moved (item 16)",
    ),
    "DELETE /api/v1/devices/{token}": Row(
        target="device", roles=_all_but_leadership("self"), note="one's own push token"
    ),
    "GET /api/v1/notifications": Row(roles=_all_but_leadership("self"), note="one's own inbox"),
    "POST /api/v1/notifications/read": Row(roles=_all_but_leadership("self"), note="one's own inbox"),
    "GET /api/v1/notifications/failed": Row(roles={"admin": "any"}, note="undeliverable notifications"),
    "GET /api/v1/citizens/me/channels": Row(roles={"citizen": "self"}, note="one's own channel choices"),
    "PUT /api/v1/citizens/me/channels": Row(
        roles={"citizen": "self"}, note="one's own channel choices (opt-out)"
    ),
    "POST /api/v1/desks/{desk}/feed-ticket": Row(
        target="desk",
        roles={"desk": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="single-use ticket for the feed (no token in URLs, item 2)",
    ),
    "GET /api/v1/desks/{desk}/feed": Row(
        target="desk", roles={"desk": "org", "admin": "any"}, scopes=ORG_SCOPES, note="live feed of one desk"
    ),
    # --- SMS providers' delivery reports (a secret in the URL, not a bearer token) ----------------------
    # --- money at the door, cash-ups, remittances (issue 21) ----------------------------------------
    "POST /api/v1/collections": Row(
        target="appointment",
        roles={"courier": "own"},
        note="money taken at a visit on one's own published route (else 403 not_on_route)",
    ),
    "GET /api/v1/receipts/{receipt_no}": Row(
        target="receipt",
        roles={"citizen": "own", "courier": "own", "dispatcher": "org", "admin": "any"},
        note="the payer, the courier who took it, the office's dispatchers; no phone or address",
    ),
    "GET /receipts/{receipt_no}": Row(
        public=True,
        roles=_all(),
        note="printable receipt with its verification token (`v`); no personal data",
    ),
    "POST /api/v1/post-offices/{code}/cashups": Row(
        target="office",
        roles={"courier": "org"},
        scopes=ORG_SCOPES,
        note="a courier cashes up at their office",
    ),
    "GET /api/v1/post-offices/{code}/cashups": Row(
        target="office",
        roles={"dispatcher": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="the office's day",
    ),
    "POST /api/v1/post-offices/{code}/cashups/close": Row(
        target="office", roles={"dispatcher": "org", "admin": "any"}, scopes=ORG_SCOPES, note="close the day"
    ),
    "POST /api/v1/post-offices/{code}/refunds": Row(
        target="office",
        roles={"dispatcher": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="a refund paid out at the office; only what is owed back there",
    ),
    "POST /api/v1/cashups/{cashup_id}/confirm": Row(
        target="cashup", roles={"dispatcher": "org"}, scopes=ORG_SCOPES, note="the office's dispatcher signs"
    ),
    "POST /api/v1/remittances": Row(
        roles={"dispatcher": "org", "admin": "any"},
        note="a dispatcher remits their office's money; admins all",
    ),
    "GET /api/v1/remittances": Row(
        roles={"dispatcher": "org", "agency": "org", "admin": "any"},
        note="batches of one's office, for one's agency; admins all",
    ),
    "GET /api/v1/remittances/{remittance_id}": Row(
        target="remittance",
        roles={"dispatcher": "org", "agency": "org", "admin": "any"},
        scopes=ORG_SCOPES,
        note="the agency it is for, the office that made it",
    ),
    "POST /api/v1/remittances/{remittance_id}/confirm": Row(
        target="remittance", roles={"agency": "org"}, scopes=ORG_SCOPES, note="only the agency it is for"
    ),
    "GET /api/v1/agencies/{org}/reconciliation": Row(
        target="agency", roles={"agency": "org", "admin": "any"}, scopes=ORG_SCOPES, note="the agency's own"
    ),
    "GET /api/v1/reports/money/cash": Row(
        roles={"dispatcher": "org", "leadership": "org", "admin": "any"},
        note="a dispatcher's own office; leadership its province's offices; admins any",
    ),
    "GET /api/v1/reports/money/outstanding": Row(
        roles={"dispatcher": "org", "leadership": "org", "admin": "any"},
        note="a dispatcher's own office; leadership its province's offices; admins any",
    ),
    "GET /api/v1/reports/money/remittances-due": Row(
        roles={"agency": "org", "leadership": "org", "admin": "any"},
        note="an agency's own row; leadership its province's agencies; admins every agency",
    ),
    # --- the prices people set (issue 21) -----------------------------------------------------------
    "POST /api/v1/prices/tariffs": Row(roles={"admin": "any"}, note="a new postal tariff version"),
    "GET /api/v1/prices/tariffs": Row(roles={"admin": "any"}, note="tariff versions"),
    "GET /api/v1/prices/tariffs/{rate_id}": Row(roles={"admin": "any"}, note="one tariff version"),
    "POST /api/v1/prices/procedure-fees": Row(roles={"admin": "any"}, note="a new fee version"),
    "GET /api/v1/prices/procedure-fees": Row(roles={"admin": "any"}, note="fee versions"),
    "GET /api/v1/prices/procedure-fees/{fee_id}": Row(roles={"admin": "any"}, note="one fee version"),
    "POST /api/v1/prices/exemptions": Row(roles={"admin": "any"}, note="a new exemption version"),
    "GET /api/v1/prices/exemptions": Row(roles={"admin": "any"}, note="exemption versions"),
    "GET /api/v1/prices/exemptions/{exemption_id}": Row(roles={"admin": "any"}, note="one exemption version"),
    # --- a catalogue people edit (issue 23) ---------------------------------------------------------
    "POST /api/v1/catalogue/procedures": Row(
        roles={"admin": "any"}, note="a new procedure (national admins)"
    ),
    "POST /api/v1/catalogue/procedures/{code}/versions": Row(
        roles={"admin": "any"}, note="a new version of a procedure (national admins)"
    ),
    "GET /api/v1/catalogue/procedures/{code}/versions": Row(
        roles={"admin": "any"}, note="a procedure's versions"
    ),
    "POST /api/v1/catalogue/procedures/{code}/eligibility": Row(
        roles={"admin": "any"},
        note="a province's postal eligibility (national admins, or the province's own)",
    ),
    "GET /api/v1/catalogue/procedures/{code}/eligibility": Row(
        roles={"admin": "any"}, note="provinces' postal eligibility"
    ),
    "POST /api/v1/catalogue/procedures/import": Row(
        roles={"admin": "any"}, note="import the national catalogue (national admins)"
    ),
    "GET /api/v1/catalogue/organisations": Row(
        roles={"admin": "any"},
        note="organisations, deactivated ones too (a provincial admin: its province's)",
    ),
    "POST /api/v1/catalogue/organisations": Row(
        roles={"admin": "any"}, note="a new organisation (national admins, or the province's own)"
    ),
    "POST /api/v1/catalogue/organisations/{code}/changes": Row(
        roles={"admin": "any"}, note="rename or deactivate (national admins, or the province's own)"
    ),
    "GET /api/v1/catalogue/organisations/{code}/changes": Row(
        roles={"admin": "any"}, note="an organisation's changes"
    ),
    "PUT /api/v1/catalogue/post-offices/{code}/service-area": Row(
        roles={"admin": "any"}, note="the communes an office serves (national admins, or the province's own)"
    ),
    # --- online payments and VietQR (issue 21) ------------------------------------------------------
    "POST /api/v1/appointments/{appointment_id}/payments": Row(
        target="appointment",
        roles={"citizen": "own"},
        note="pay what the ledger says is owed, through VNPay; only the citizen whose visit it is",
    ),
    "GET /api/v1/payments/{payment_id}": Row(
        target="payment", roles={"citizen": "own"}, scopes=CITIZEN_SCOPES, note="one's own payment"
    ),
    "GET /api/v1/appointments/{appointment_id}/vietqr": Row(
        target="appointment",
        roles={"citizen": "own", "courier": "own", "dispatcher": "org", "desk": "any", "admin": "any"},
        note="a transfer code for what is owed, as the appointment is seen; no personal data in it",
    ),
    "GET /api/v1/payments/vnpay/ipn": Row(
        public=True, roles=_all(), note="VNPay's notification; its HMAC-SHA512 signature decides"
    ),
    "GET /api/v1/payments/vnpay/return": Row(
        public=True, roles=_all(), note="the payer's browser back from VNPay: the stored state only"
    ),
    "GET /api/v1/sms/reports/esms/{token}": Row(
        public=True, roles=_all(), note="eSMS delivery reports; the secret token in the URL decides"
    ),
    "POST /api/v1/zns/events": Row(
        public=True, roles=_all(), note="Zalo ZNS webhook events; the X-ZEvent-Signature header decides"
    ),
    # --- partner webhooks (admins only: an endpoint sends an organisation's events outside) ------------
    "POST /api/v1/webhooks": Row(
        roles={"admin": "any"}, note="register a partner's endpoint (secret shown once)"
    ),
    "GET /api/v1/webhooks": Row(
        target="webhook",
        listing=True,
        roles={"admin": "any"},
        scopes=ORG_SCOPES,
        note="an admin with an organisation sees its endpoints only; never the secrets",
    ),
    "GET /api/v1/webhooks/{webhook_id}": Row(
        target="webhook", roles={"admin": "any"}, scopes=ORG_SCOPES, note="a partner endpoint"
    ),
    "PATCH /api/v1/webhooks/{webhook_id}": Row(
        target="webhook", roles={"admin": "any"}, scopes=ORG_SCOPES, note="URL, kinds, on/off"
    ),
    "POST /api/v1/webhooks/{webhook_id}/rotate-secret": Row(
        target="webhook", roles={"admin": "any"}, scopes=ORG_SCOPES, note="a new signing secret, shown once"
    ),
    "POST /api/v1/webhooks/{webhook_id}/ping": Row(
        target="webhook", roles={"admin": "any"}, scopes=ORG_SCOPES, note="a signed test delivery"
    ),
    "GET /api/v1/webhooks/{webhook_id}/deliveries": Row(
        target="webhook", roles={"admin": "any"}, scopes=ORG_SCOPES, note="deliveries and their attempts"
    ),
    "DELETE /api/v1/webhooks/{webhook_id}": Row(
        target="webhook",
        roles={"admin": "any"},
        scopes=ORG_SCOPES,
        note="last of the webhook rows: it removes them",
    ),
}


def reaches(level: str, role: str, scope: str) -> bool:
    """Whether a role with ``level`` on an operation reaches the record of ``scope``."""
    if level == "any":
        return True
    if level == "none":
        return False
    if level == "self":
        return scope == "own"
    if level == "own" and role == "citizen":
        return scope in ("own", "other_courier")  # C1's record, whoever carries it
    if level == "own" and role == "courier":
        return scope in ("own", "other_citizen")  # courier A1's, whoever the citizen is
    if role == "citizen":  # a citizen's "org" is themself
        return scope in ("own", "other_courier")
    return scope != "other_org"


def expected(row: Row, role: str, scope: str | None) -> str:
    """``ok``, ``401``, ``deny``, ``listed`` or ``unlisted`` for one cell (``scope`` None: no target)."""
    if role == "anonymous":
        return "ok" if row.public else "401"
    if role not in row.roles:
        return "deny"
    if row.target is None or scope is None:
        return "ok"
    seen = reaches(row.roles[role], role, scope)
    if row.listing:
        return "listed" if seen else "unlisted"
    return "ok" if seen else "deny"


def cells(op: str) -> list[tuple[str, str | None, str]]:
    """(role, scope, expected) of one operation, refusals first (a permitted write may change the record)."""
    row = MATRIX[op]
    out = [
        (role, scope, expected(row, role, scope))
        for role in ROLES
        for scope in (row.scopes if row.target else (None,))
        if not (role == "anonymous" and scope not in (None, "own"))
    ]
    order = {"401": 0, "deny": 1, "unlisted": 2, "listed": 3, "ok": 4}
    return sorted(out, key=lambda c: order[c[2]])


SYMBOL = {"ok": "✓", "listed": "✓", "deny": "✗", "unlisted": "–", "401": "401"}
SCOPE_SHORT = {"own": "own", "other_citizen": "C", "other_courier": "K", "other_org": "O"}


def render_markdown() -> str:
    """The matrix as a Markdown table: one line per operation, one column per role. A cell lists the scopes
    it reaches: ✓ (allowed, no record), ``own`` / ``C`` / ``K`` / ``O`` (own, another citizen's, another
    courier's, another organisation's record), ∅ allowed but none of these records is the role's (an empty
    listing, a 404), ✗ refused (403/404), 401 anonymous refused."""
    lines = [
        "| operation | " + " | ".join(ROLES) + " | rule |",
        "| --- | " + " | ".join("---" for _ in ROLES) + " | --- |",
    ]
    for op in sorted(MATRIX, key=lambda o: (o.split(" ", 1)[1], o)):
        row = MATRIX[op]
        out = []
        for role in ROLES:
            if row.target is None or role == "anonymous":
                out.append(SYMBOL[expected(row, role, None if row.target is None else "own")])
                continue
            reached = [SCOPE_SHORT[s] for s in row.scopes if expected(row, role, s) in ("ok", "listed")]
            out.append(" ".join(reached) if reached else "∅" if role in row.roles else "✗")
        lines.append(f"| `{op}` | " + " | ".join(out) + f" | {row.note} |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- access-matrix:begin (generated by python -m tests.api.access_matrix) -->\n"
END = "<!-- access-matrix:end -->\n"
DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def in_doc(text: str) -> str:
    """``text`` (docs/security.md) with the generated table between its markers replaced by the current one."""
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + BEGIN + render_markdown() + END + tail


if __name__ == "__main__":
    if BEGIN not in DOC.read_text(encoding="utf-8"):
        sys.exit(f"{DOC} has no {BEGIN.strip()} marker")
    DOC.write_text(in_doc(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"rewrote the access matrix in {DOC}")
