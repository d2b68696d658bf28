"""Turning a Lambda invocation's time limit into the domain's deadline."""

import time
from typing import Protocol


class _HasRemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def deadline_from(context: _HasRemainingTime, margin_s: float) -> float:
    """A ``time.monotonic()`` deadline ``margin_s`` before the invocation would time out, so
    retries end and outcomes are written while there is still time to write them."""
    return time.monotonic() + context.get_remaining_time_in_millis() / 1000 - margin_s
