"""SIGINT and SIGTERM turned into an event, in this very process."""

import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from playment_simulator.stop_signals import stop_event_on_signals

STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM]


class Recorder:
    """A handler that only counts, installed before the block under test."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.calls += 1


@pytest.fixture
def earlier_handlers() -> Iterator[dict[signal.Signals, Recorder]]:
    """A recorder on each stop signal before the test; pytest's own handlers after it."""
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    recorders = {signum: Recorder() for signum in STOP_SIGNALS}
    for signum, recorder in recorders.items():
        signal.signal(signum, recorder)
    yield recorders
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def watcher_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "stop-signals"]


@pytest.mark.parametrize("stop_signal", STOP_SIGNALS, ids=lambda s: s.name)
def test_a_stop_signal_sets_the_event_and_the_earlier_handler_comes_back(
    stop_signal: signal.Signals, earlier_handlers: dict[signal.Signals, Recorder]
) -> None:
    # Given a block that waits on the stop event
    with stop_event_on_signals() as stop:
        assert not stop.is_set()
        # When the process is sent the signal
        os.kill(os.getpid(), stop_signal)
        # Then the event is set, and the handler that was there before did not run
        assert stop.wait(timeout=5)
        assert earlier_handlers[stop_signal].calls == 0
    # And after the block both earlier handlers are back in place, and the watcher is gone
    for signum, recorder in earlier_handlers.items():
        assert signal.getsignal(signum) is recorder
    assert watcher_threads() == []
    # And the same signal now reaches the earlier handler, no longer the event
    os.kill(os.getpid(), stop_signal)
    assert earlier_handlers[stop_signal].calls == 1


def test_an_ignored_signal_is_ignored_again_after_the_block(
    earlier_handlers: dict[signal.Signals, Recorder],
) -> None:
    # Given SIGINT ignored, as a background job of a non-interactive shell has it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # When a block is left without any signal
    with stop_event_on_signals() as stop:
        # Then inside it SIGINT is handled, not ignored
        assert signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.SIG_DFL)
    # And after it the event was never set, SIGINT is ignored again, and the watcher is gone
    assert not stop.is_set()
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert watcher_threads() == []


def test_an_error_in_the_block_still_restores_the_handlers(
    earlier_handlers: dict[signal.Signals, Recorder],
) -> None:
    # Given a block that raises
    with pytest.raises(RuntimeError, match="boom"), stop_event_on_signals():
        raise RuntimeError("boom")
    # Then the earlier handlers are back all the same
    for signum, recorder in earlier_handlers.items():
        assert signal.getsignal(signum) is recorder
    assert watcher_threads() == []
