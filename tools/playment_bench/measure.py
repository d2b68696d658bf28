"""Small helpers every benchmark uses: repeat, take the median, count AWS calls."""

import statistics
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import botocore.handlers

RUNS = 3

T = TypeVar("T")  # not def median_of[T]: the tools run on Python 3.11 too


def median_of(runs: int, measure: Callable[[], T], key: Callable[[T], float]) -> T:
    """Run ``measure`` ``runs`` times; the run whose ``key`` is the median (odd ``runs``)."""
    results = sorted((measure() for _ in range(runs)), key=key)
    return results[len(results) // 2]


class AwsCallCounter:
    """Counts every AWS API call made by any botocore client created after ``install``.

    botocore gives each new session the handlers in ``BUILTIN_HANDLERS`` (moto installs its
    own stubber the same way), so clients made later by the handlers, by Powertools and by
    moto's Step Functions engine are all counted: ``("s3", "PutObject")`` and so on.
    """

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def install(self) -> None:
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call", self._count))

    def _count(self, model: Any, **_: Any) -> None:
        service = model.service_model.service_name
        with self._lock:
            self.calls[(service, model.name)] += 1

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def of(self, service: str, operation: str | None = None) -> int:
        with self._lock:
            return sum(
                count
                for (svc, op), count in self.calls.items()
                if svc == service and (operation is None or op == operation)
            )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0
