"""The progress both ``run`` and ``start`` show while an execution runs: pages done of the
pages listed, on stderr. On a terminal, a bar redrawn in place; elsewhere (a pipe, a CI log,
cron) plain lines, one when the listing adds pages and one every ``PLAIN_EVERY_S`` seconds,
so a log shows the run is alive without a line per page. An export listed in chunks passes a
total that grows with each chunk; both follow it."""

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# (pages listed so far, or None before any; pages done; a few words more)
PagesUpdate = Callable[[int | None, int, str], None]
PLAIN_EVERY_S = 10.0
PROGRESS_PREFIX = "playment-export: progress: "


@contextmanager
def export_progress(plain_every_s: float = PLAIN_EVERY_S) -> Iterator[PagesUpdate]:
    """Yields the function to call with each new state of the execution."""
    from rich.console import Console  # rich only when a run shows progress: start-up
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        yield PlainProgress(plain_every_s).update
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages · {task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("listing", total=None, detail="")

        def update(total: int | None, done: int, detail: str) -> None:
            description = "exporting" if total is not None else "listing"
            bar.update(task, description=description, total=total, completed=done, detail=detail)

        yield update


class PlainProgress:
    """Progress as lines of text, for output that is not a terminal."""

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._every_s = every_s
        self._clock = clock
        self._started = clock()
        self._last_line: float | None = None
        self._last_total: int | None = None

    def update(self, total: int | None, done: int, detail: str) -> None:
        now = self._clock()
        due = self._last_line is None or now - self._last_line >= self._every_s
        if not due and total == self._last_total:
            return
        self._last_line, self._last_total = now, total
        where = "listing" if total is None else f"{done} of {total} pages done"
        extra = f", {detail}" if detail else ""
        elapsed = int(now - self._started)
        print(f"{PROGRESS_PREFIX}{where}{extra} ({elapsed} s)", file=sys.stderr, flush=True)
