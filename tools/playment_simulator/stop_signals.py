"""SIGINT and SIGTERM turned into a ``threading.Event``, for commands that run until stopped.

KeyboardInterrupt is not enough: a process started as a background job of a non-interactive
shell inherits SIGINT ignored, so Python installs no handler and Ctrl-C or ``kill -INT`` never
reaches it; SIGTERM (``kill``, ``docker stop``) ends the process before any clean-up. With
these handlers either signal sets an event, and the command stops the way it chooses.
"""

import queue
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What signal.signal returns: a Python callable, SIG_DFL or SIG_IGN, or None (set outside Python).
_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


@contextmanager
def stop_event_on_signals(
    signals: tuple[signal.Signals, ...] = STOP_SIGNALS,
) -> Iterator[threading.Event]:
    """An event set when one of ``signals`` arrives inside the block; the handlers in place
    before are restored after it. Call from the main thread (as ``signal.signal`` requires).

    The handler does not set the event itself: it runs in the main thread, possibly while
    that thread is inside ``event.wait()`` holding the event's (non-reentrant) lock, where
    ``event.set()`` would deadlock. It hands the signal to a watcher thread through a
    ``SimpleQueue``, whose ``put`` is reentrant, and the watcher sets the event.
    """
    stop = threading.Event()
    received: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def watch() -> None:
        if received.get() is not None:  # None: the block ended without a signal
            stop.set()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.put(signum)

    watcher = threading.Thread(target=watch, name="stop-signals", daemon=True)
    watcher.start()
    previous: dict[signal.Signals, _Handler] = {}
    try:
        for signum in signals:
            previous[signum] = signal.signal(signum, on_signal)
        yield stop
    finally:
        for signum, handler in previous.items():
            # None: the handler was not installed from Python; the default is the nearest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        received.put(None)
        watcher.join()
