"""Ctrl-C and SIGTERM stop a command the same way, however the process was started.

Python turns SIGINT into ``KeyboardInterrupt`` only if SIGINT was not ignored when the process
started (a background job of a non-interactive shell inherits it ignored), and SIGTERM
(``kill``, a CI runner's timeout, ``docker stop``) ends the process at once, before a
command can leave its output whole. Inside ``interrupt_on_signals`` both raise ``Stopped`` (a
``KeyboardInterrupt``) in the main thread, which each command already handles: ``run`` and
``demo`` stop writing into the output folder and say what is there, ``start`` stops following.
The exit status then says which signal it was, as a shell reports a process it ended: 130
for SIGINT, 143 for SIGTERM.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """One of ``STOP_SIGNALS`` arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_status_of(stop: KeyboardInterrupt) -> int:
    """128 + the signal's number: 130 for Ctrl-C (or a plain ``KeyboardInterrupt``), 143 for
    SIGTERM."""
    return 128 + (stop.signum if isinstance(stop, Stopped) else signal.SIGINT)


def signal_name(stop: KeyboardInterrupt) -> str:
    return signal.Signals(stop.signum).name if isinstance(stop, Stopped) else "SIGINT"


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``Stopped`` inside the block (in the main thread; elsewhere,
    where Python cannot install handlers, the block runs as it is)."""
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        for signum in STOP_SIGNALS:
            previous[signum] = signal.signal(signum, _interrupt)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
