"""The side-effects table against the transitions table and the step functions it names."""

import inspect

import pytest

from backend.custody import transitions as tr
from backend.custody.effects import EFFECTS, Step
from backend.custody.services.side_effects import HANDLERS

EVENT_CODES = set(tr.RULES) | {code for code, _, _ in tr.CREATION.values()} | {tr.CUSTODY_CODE}


def test_every_event_code_has_its_effects_decided_and_no_other_code_is_listed() -> None:
    assert set(EFFECTS) == EVENT_CODES


STEPS = [(code, s) for code, steps in EFFECTS.items() for s in steps]


@pytest.mark.parametrize(("code", "step"), STEPS, ids=[f"{c}-{s.name}" for c, s in STEPS])
def test_each_step_names_a_function_that_takes_its_parameters(code: str, step: Step) -> None:
    assert step.name in HANDLERS, f"{code}: no step function '{step.name}'"
    handler = HANDLERS[step.name]
    assert inspect.iscoroutinefunction(handler)
    # Raises TypeError if the table gives a parameter the function does not take, or misses one it needs.
    inspect.signature(handler).bind(None, **step.params)


def test_every_step_function_is_used() -> None:
    assert {s.name for _, s in STEPS} == set(HANDLERS)


FACT_MAKERS = {
    "take_desk": {"agency"},
    "require_reason": {"reason"},
    "note_reason": {"reason"},
    "collect_supplement": {"documents"},
    "start_clock": {"result_due"},
    "request_supplement": {"documents"},
    "expect_delivery": {"eta"},
    "count_failed_attempt": {"reason"},
}


@pytest.mark.parametrize("code", sorted(EFFECTS))
def test_a_notification_names_only_facts_an_earlier_step_of_its_code_left(code: str) -> None:
    known: set[str] = set()
    for s in EFFECTS[code]:
        if s.name == "notify":
            assert set(s.params["fields"]) <= known, (
                f"{code}: {s.params['template']} needs {s.params['fields']}"
            )
        known |= FACT_MAKERS.get(s.name, set())


def test_the_clock_steps_are_where_the_decree_puts_them() -> None:
    """Decree 118/2025/NĐ-CP: the clock starts at receipt, stops for a supplement and runs again after it."""
    where = {
        name: {c for c, s in STEPS if s.name == name}
        for name in ("start_clock", "pause_clock", "resume_clock")
    }
    assert where == {"start_clock": {"TNH"}, "pause_clock": {"TBS"}, "resume_clock": {"TNB"}}


def test_a_home_delivery_needs_a_proof_and_a_counter_pickup_may_have_one() -> None:
    proof = {c: s.params["required"] for c, s in STEPS if s.name == "keep_proof"}
    assert proof == {"EMI": True, "KQN": False}
