"""The progress bar both ``run`` and ``start`` draw while an execution runs: pages done of
the pages listed, on stderr, only when stderr is a terminal. An export listed in chunks
passes a total that grows with each chunk; the bar follows it."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

# (pages listed so far, or None before any; pages done; a few words more)
PagesUpdate = Callable[[int | None, int, str], None]


@contextmanager
def pages_bar() -> Iterator[PagesUpdate | None]:
    """Yields a function to update the bar, or None when stderr is not a terminal."""
    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
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
