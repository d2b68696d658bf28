"""What the simulator saw, so that tests can assert on traffic rather than on logs."""

import threading
from collections import Counter
from typing import Any


class SimulatorStats:
    """Thread-safe counters, updated by the request threads and readable at any time.

    The counters are plain attributes so that a test can read ``stats.requests["job"]``;
    every update goes through a method that holds the lock, and ``snapshot`` copies them
    under the same lock for a consistent view.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.key_leaks: int = 0
        self.attachments_by_job: Counter[str] = Counter()

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self.requests[endpoint] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def count_key_leak(self) -> None:
        with self._lock:
            self.key_leaks += 1

    def count_delivery(self, job_id: str, change: int = 1) -> None:
        """A whole body sent (-1: take back one that failed on its last write)."""
        with self._lock:
            self.attachments_by_job[job_id] += change

    def reset(self) -> None:
        """Zero everything in place, so references to the counters stay valid."""
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.key_leaks = 0
            self.attachments_by_job.clear()

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of every counter, as plain dicts (JSON-friendly)."""
        with self._lock:
            return {
                "requests": dict(self.requests),
                "faults": dict(self.faults),
                "key_leaks": self.key_leaks,
                "attachments_by_job": dict(self.attachments_by_job),
            }
