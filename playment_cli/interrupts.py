"""Ctrl-C and SIGTERM stop a command the same way, however the process was started.

Python turns SIGINT into ``KeyboardInterrupt`` only if SIGINT was not ignored when the process
started (a background job of a non-interactive shell inherits it ignored), and SIGTERM
(``kill``, a CI runner's timeout, ``docker stop``) ends the process at once, before a
command can leave its output whole. Inside ``interrupt_on_signals`` both raise
``KeyboardInterrupt`` in the main thread, which each command already handles: ``run`` and
``demo`` stop writing into the output folder and say what is there, ``start`` stops following.
"""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from playment_cli.export_flags import EXIT_INTERRUPTED, EXIT_TERMINATED

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM: stopped like Ctrl-C, but the process ends with 143, not 130."""


def exit_status_of(interrupt: KeyboardInterrupt) -> int:
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` inside the block (in the main thread;
    elsewhere, where Python cannot install handlers, the block runs as it is)."""
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
