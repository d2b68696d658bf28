"""Each in-process invocation's peak memory, measured with ``tracemalloc``.

On the local engine the handlers share one process, so an invocation's memory is not the
process's: it is what the invocation allocated while it ran. ``tracemalloc`` is started when
an invocation begins with none running (unless something else traces already) and stopped
when the last running one ends, so it traces only what is allocated while invocations run,
and the peak is the most of that held at once: every Python allocation of the handler, of its
libraries and threads, and of moto serving its AWS calls (an object it writes to S3 stays in
moto's memory, where on AWS it would not count). Not included: what was allocated before it
began (the interpreter, imported modules, the container's clients: Lambda's baseline), and
memory outside Python's allocator. Tracing is process-wide: when invocations overlap, each
one's peak includes the others' allocations, and its reading says so (``overlapped``).
"""

import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(eq=False)
class PeakReading:
    """Filled in when the invocation ends."""

    peak_bytes: int = 0
    overlapped: bool = False


class PeakMemory:
    """Measures invocations as they run; safe to use from the Map's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: list[PeakReading] = []
        self._baseline = 0  # traced bytes when the running group's first invocation began
        self._started_tracing = False

    @contextmanager
    def measuring(self) -> Iterator[PeakReading]:
        reading = PeakReading()
        with self._lock:
            if self._running:
                for other in (*self._running, reading):
                    other.overlapped = True
            else:
                self._started_tracing = not tracemalloc.is_tracing()
                if self._started_tracing:
                    tracemalloc.start()
                tracemalloc.reset_peak()
                self._baseline = tracemalloc.get_traced_memory()[0]
            self._running.append(reading)
        try:
            yield reading
        finally:
            with self._lock:
                reading.peak_bytes = max(0, tracemalloc.get_traced_memory()[1] - self._baseline)
                self._running.remove(reading)
                if not self._running and self._started_tracing:
                    tracemalloc.stop()
