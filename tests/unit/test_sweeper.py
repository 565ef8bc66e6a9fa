"""The background sweep loop and its lifespan hook (backend/lib/sweeper.py): a stop ends the wait at once, an
error a sweep may meet is logged and the next sweep runs, any other ends the loop, and shutdown waits for the
task no longer than its grace."""

import asyncio
import logging
import time

import pytest

from backend.lib.sweeper import Sweeper, in_background

log = logging.getLogger("tests.sweeper")


async def test_stops_on_the_event_without_waiting_out_the_interval() -> None:
    stop = asyncio.Event()
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1
        stop.set()  # told to stop during the first sweep: the hour's wait must not happen

    started = time.monotonic()
    await asyncio.wait_for(Sweeper("test sweep", once, 3600, log).run(stop), timeout=5)
    assert runs == 1
    assert time.monotonic() - started < 5


async def test_a_stop_set_before_the_start_runs_no_sweep() -> None:
    stop = asyncio.Event()
    stop.set()
    runs: list[int] = []

    async def once() -> None:
        runs.append(1)

    await Sweeper("test sweep", once, 0, log).run(stop)
    assert runs == []


@pytest.mark.parametrize(
    ("quiet", "level", "message"),
    [
        ((), logging.ERROR, "test sweep failed"),  # with its traceback
        ((OSError,), logging.WARNING, "test sweep failed: database away"),  # one line: an outage it expects
    ],
)
async def test_logs_an_error_and_sweeps_again(
    caplog: pytest.LogCaptureFixture, quiet: tuple[type[Exception], ...], level: int, message: str
) -> None:
    stop = asyncio.Event()
    runs = 0

    async def once() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise OSError("database away")
        stop.set()

    async def run() -> None:  # as the modules' run functions await it
        await Sweeper("test sweep", once, 0.01, log, (OSError,), quiet=quiet).run(stop)

    with caplog.at_level(logging.INFO, logger="tests.sweeper"):
        await asyncio.wait_for(run(), timeout=5)
    assert runs == 2
    [record] = [r for r in caplog.records if r.name == "tests.sweeper"]
    assert (record.levelno, record.getMessage()) == (level, message)
    assert (record.exc_info is not None) is not bool(quiet)
    # attributed to the loop's caller (the module's run), not to backend/lib/sweeper.py
    assert record.funcName == "run" and record.module == "test_sweeper"


async def test_by_default_an_unexpected_error_is_logged_with_its_traceback_and_the_loop_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The money jobs' loop: a database outage is one line, any other error keeps its traceback and the next
    sweep still runs (a loop that died would stop remittances until the process restarts)."""
    stop = asyncio.Event()
    raised: list[Exception] = [OSError("database away"), KeyError("a bug")]

    async def once() -> None:
        if raised:
            raise raised.pop(0)
        stop.set()

    with caplog.at_level(logging.INFO, logger="tests.sweeper"):
        await asyncio.wait_for(Sweeper("test sweep", once, 0.01, log, quiet=(OSError,)).run(stop), timeout=5)
    records = [r for r in caplog.records if r.name == "tests.sweeper"]
    assert [(r.levelno, r.exc_info is not None) for r in records] == [
        (logging.WARNING, False),
        (logging.ERROR, True),
    ]
    assert stop.is_set()


async def test_an_error_not_listed_ends_the_loop() -> None:
    stop = asyncio.Event()

    async def once() -> None:
        raise KeyError("not a database outage")

    with pytest.raises(KeyError):
        await asyncio.wait_for(Sweeper("test sweep", once, 0.01, log, (OSError,)).run(stop), timeout=5)
    assert not stop.is_set()


async def test_in_background_lets_the_sweep_finish_within_the_grace() -> None:
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow_sweep() -> None:
        started.set()
        await asyncio.sleep(0.2)  # in progress when shutdown comes
        finished.set()

    async def start(stop: asyncio.Event) -> None:
        await Sweeper("test sweep", slow_sweep, 3600, log).run(stop)

    async with in_background(start, grace_s=5):
        await asyncio.wait_for(started.wait(), timeout=5)
    assert finished.is_set()


async def test_in_background_cancels_a_task_past_its_grace() -> None:
    cancelled = asyncio.Event()

    async def deaf(stop: asyncio.Event) -> None:  # ignores the stop
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    started = time.monotonic()
    async with asyncio.timeout(5):  # a grace not kept fails here instead of hanging for an hour
        async with in_background(deaf, grace_s=0.2):
            await asyncio.sleep(0)
    waited = time.monotonic() - started
    assert cancelled.is_set()
    assert 0.2 <= waited < 5


async def test_in_background_with_nothing_to_start_runs_nothing() -> None:
    before = len(asyncio.all_tasks())
    async with in_background(None, grace_s=1):
        assert len(asyncio.all_tasks()) == before
