"""The collector pause around bulk work: counted across nested and concurrent blocks, and
never leaves the collector off."""

from __future__ import annotations

import gc
import threading

import pytest

from rapportd.agent.core.gc_pause import paused_gc


@pytest.fixture(autouse=True)
def _collector_on() -> None:
    gc.enable()


def test_the_collector_is_off_inside_and_back_on_after() -> None:
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block is still running
    assert gc.isenabled()


def test_an_error_inside_turns_it_back_on() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("analysis failed")
    assert gc.isenabled()


def test_a_collector_someone_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_blocks_in_two_threads() -> None:
    # A enters, B enters, A leaves (B still inside: still off), B leaves: on again
    a_in, a_may_leave, a_left, b_may_leave = (threading.Event() for _ in range(4))
    seen: dict[str, bool] = {}

    def a() -> None:
        with paused_gc():
            a_in.set()
            a_may_leave.wait(5)
        a_left.set()

    def b() -> None:
        a_in.wait(5)
        with paused_gc():
            a_may_leave.set()
            a_left.wait(5)
            seen["inside_b_after_a_left"] = gc.isenabled()
            b_may_leave.wait(5)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    a_left.wait(5)
    b_may_leave.set()
    for t in threads:
        t.join(5)
    assert seen == {"inside_b_after_a_left": False}
    assert gc.isenabled()
