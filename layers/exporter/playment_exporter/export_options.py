"""How a page's jobs are exported: one value handed down from the handler to each job, so
that a new switch is one field here rather than a parameter on every function on the way."""

from dataclasses import dataclass

from playment_exporter.defaults import PAGE_WORKERS


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """``overwrite``: replace results already there; ``include_referenced``: export the files
    a result names beside it; ``workers``: jobs of the page at once; ``deadline``
    (``time.monotonic()`` seconds): retries stop in time for the call to end, and a job not
    started by then is failed as ``deadline_exceeded``."""

    overwrite: bool = False
    include_referenced: bool = False
    workers: int = PAGE_WORKERS
    deadline: float | None = None


DEFAULT_OPTIONS = ExportOptions()
