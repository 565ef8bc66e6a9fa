"""What each event code does besides moving the dossier: one table, beside the transitions. Pure: no DB, no web.

``transitions.py`` says where a code takes a dossier and who holds it then; this table says what else the code
does, in order: checks the event must pass, the legal clock started, paused or resumed, fields set, the result
item, and the notification to the citizen. Each step names a function in ``services/side_effects.py``
(``HANDLERS``) with its parameters; a step may leave a fact (a due date, a list of documents) for a later
``notify`` step to put in the message. Every code an event can carry is listed, those with nothing to do too,
so adding a code to ``transitions.py`` without deciding its effects fails ``tests/unit/test_effects.py``.
"""

from dataclasses import dataclass, field
from typing import Any

from backend.custody.transitions import CUSTODY_CODE
from schemas.dossiers import Channel


@dataclass(frozen=True)
class Step:
    name: str
    params: dict[str, Any] = field(default_factory=dict)


def step(name: str, **params: Any) -> Step:
    return Step(name, params)


def notify(template: str, *fields: str, channel: Channel | None = None) -> Step:
    """A citizen notification with the named facts as its parameters (``channel``: only for that channel)."""
    return Step("notify", {"template": template, "fields": fields, "channel": channel})


def _delivered(*, proof_required: bool) -> tuple[Step, ...]:
    return (
        step("verify_recipient"),
        step("keep_proof", required=proof_required),
        step("hand_result_over"),
        notify("dossier.delivered"),
    )


EFFECTS: dict[str, tuple[Step, ...]] = {
    # At the counter the citizen is there; only a collection at home is announced.
    "EMA": (notify("dossier.picked_up", channel=Channel.home_pickup),),
    CUSTODY_CODE: (),
    "EMB": (),
    "EMC": (),
    # Decree 118/2025/NĐ-CP: the receipt gives the date the result is due (giấy hẹn trả kết quả).
    "TNH": (
        step("take_desk"),
        step("start_clock"),
        notify("dossier.handed_to_agency", "agency", "result_due"),
    ),
    # Issue 20: a refusal and a withdrawal tell the citizen why, and the papers come back like a result: a
    # refusal at the desk has them there, so they are ready for return at once (KQS as the system); a withdrawn
    # dossier's papers come back from the agency first (KQS when they reach the desk).
    "TKN": (
        step("require_reason"),
        notify("dossier.not_accepted", "reason"),
        step("refund_fees"),  # issue 21: the fee and lệ phí paid are owed back (backend/money/refunds.py)
        step("return_papers", code="KQS"),
    ),
    "TCQ": (step("assign_agency"),),
    # The clock stops while the citizen supplements and starts again when they have (Decree 118/2025/NĐ-CP).
    "TBS": (
        step("request_supplement"),
        step("pause_clock"),
        notify("dossier.supplement_requested", "documents"),
    ),
    # The supplement collected at the door travels to the desk; the clock runs again only at the desk's receipt.
    "EBS": (step("collect_supplement"), notify("dossier.supplement_collected", "documents")),
    "TNB": (step("resume_clock"), step("clear_supplement")),
    "TRH": (
        step("set_outcome", outcome="withdrawn"),
        step("stop_clock"),
        step("note_reason"),
        notify("dossier.withdrawn", "reason"),
    ),
    "TKQ": (step("decide"),),
    # A citizen who chose postal return is offered delivery windows (issue 20: every such result enters a plan).
    "KQS": (step("issue_result"), step("tell_result_ready"), step("offer_return")),
    "KQB": (),
    "EMG": (),
    "EMO": (step("expect_delivery", default_hours=2), notify("dossier.out_for_delivery", "eta")),
    # After too many failed attempts the result goes back to the desk for counter pickup, in the same
    # transaction (Decision 45/2016/QĐ-TTg: what the postal operator cannot deliver goes back).
    "EMH": (
        step("count_failed_attempt"),
        notify("dossier.delivery_failed", "reason"),
        step("return_after_max_attempts", code="KQT"),
    ),
    # A delivery at home keeps a photo or a signature as proof (Decision 45/2016/QĐ-TTg); at the counter the
    # citizen is there and a proof is optional.
    "EMI": _delivered(proof_required=True),
    "KQT": (),
    "KQN": _delivered(proof_required=False),
}
