"""The dossier state machine on its own: every allowed transition, several forbidden ones."""

import pytest

from backend.custody import transitions as tr
from backend.custody.transitions import RULES, Status, TransitionError
from schemas.dossiers import Channel, CustodianKind
from schemas.enums import Role

ALLOWED = [(src, code, rule.to) for code, rule in RULES.items() for src in sorted(rule.sources)]


@pytest.mark.parametrize(("source", "code", "target"), ALLOWED)
def test_every_allowed_transition(source: Status, code: str, target: Status) -> None:
    assert tr.next_status(source, code) == target
    role = sorted(RULES[code].roles)[0]
    assert tr.next_status(source, code, role) == target
    assert code in tr.allowed_codes(source)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        (Status.collected, "TKQ"),  # a courier's bag cannot decide a dossier
        (Status.received, "EMI"),  # nothing to deliver before there is a result
        (Status.delivered, "EMO"),  # delivered is final
        (Status.awaiting_supplement, "TKQ"),  # no decision while the citizen is supplementing
        (Status.processing, "TNH"),  # received twice
        (Status.out_for_delivery, "KQN"),  # counter pickup of what the courier carries
        (Status.result_ready, "EMI"),  # delivery needs an out-for-delivery step
    ],
)
def test_forbidden_transitions_explain_the_allowed_ones(source: Status, code: str) -> None:
    with pytest.raises(TransitionError) as err:
        tr.next_status(source, code)
    assert err.value.allowed == tr.allowed_codes(source)
    assert code not in err.value.allowed
    assert source.value in str(err.value)


def test_final_status_has_no_way_out() -> None:
    assert tr.allowed_codes(Status.delivered) == []


def test_unknown_code() -> None:
    with pytest.raises(TransitionError, match="unknown event code"):
        tr.next_status(Status.received, "XYZ")


def test_roles_are_enforced() -> None:
    with pytest.raises(TransitionError, match="role 'courier'"):
        tr.next_status(Status.processing, "TKQ", Role.courier)
    with pytest.raises(TransitionError, match="role 'citizen'"):
        tr.next_status(Status.collected, "EMB", Role.citizen)
    assert "TKQ" not in tr.allowed_codes(Status.processing, Role.desk)
    assert "TKQ" in tr.allowed_codes(Status.processing, Role.agency)


def test_every_status_maps_to_a_portal_status_and_a_custodian() -> None:
    for status in Status:
        assert 1 <= tr.portal_status(status) <= 10
        assert isinstance(tr.custodian_after(status), CustodianKind)
    assert tr.portal_status(Status.received) == 2
    assert tr.portal_status(Status.awaiting_supplement) == 5
    assert tr.portal_status(Status.delivered) == 10


def test_every_status_is_reachable_from_a_creation() -> None:
    reached = {status for _, status, _ in tr.CREATION.values()}
    frontier = list(reached)
    while frontier:
        s = frontier.pop()
        for code in tr.allowed_codes(s):
            nxt = tr.next_status(s, code)
            if nxt not in reached:
                reached.add(nxt)
                frontier.append(nxt)
    assert reached == set(Status)


def test_creation_by_channel() -> None:
    assert tr.CREATION[Channel.home_pickup][:2] == ("EMA", Status.collected)
    assert tr.CREATION[Channel.post_office][:2] == ("EMA", Status.at_post_office)
    assert tr.CREATION[Channel.direct][1] == Status.received


def test_handover_codes_are_valid_transitions() -> None:
    for (status, _receiver), code in {**tr.ON_RECEIPT, **tr.ON_DEPARTURE}.items():
        tr.next_status(status, code)  # raises if the handover table disagrees with the rules
    assert tr.receipt_code(Status.in_transit_to_desk, CustodianKind.desk) == "TNH"
    assert tr.receipt_code(Status.at_post_office, CustodianKind.post_office) is None
    assert tr.can_hand_over(Status.at_post_office, CustodianKind.post_office)
    assert not tr.can_hand_over(Status.processing, CustodianKind.courier)
