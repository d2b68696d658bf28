"""When to try a Playment call again, and how long to wait: one policy for every call.

tenacity does the looping. What it cannot know is Playment's: which failures are transient
(``TransientError``, raised by the client), and that a ``Retry-After`` the server sent beats our
own backoff. Every call is bounded by a time window and by the caller's deadline, so retries
always end before the Lambda does.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from playment_exporter.errors import TransientError


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try one call. ``window`` is the most time one call may spend retrying."""

    window: float = 60.0
    initial_wait: float = 0.25
    max_wait: float = 10.0


class _WaitRetryAfterOrBackoff:
    """The server's ``Retry-After`` when it sent one, else exponential backoff with jitter."""

    def __init__(self, settings: RetrySettings) -> None:
        self._backoff = wait_exponential_jitter(
            multiplier=settings.initial_wait, max=settings.max_wait, jitter=settings.initial_wait
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return error.retry_after
        return float(self._backoff(retry_state))


class _StopPastLimit(stop_base):
    """Stop when the next wait would end past the window or the deadline (monotonic clock)."""

    def __init__(self, limit: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        next_wait = retry_state.upcoming_sleep
        return self._clock() + next_wait >= self._limit


def retrying(
    settings: RetrySettings,
    *,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Retrying:
    """A tenacity ``Retrying`` for one call: retries ``TransientError`` until the window or
    ``deadline`` would be overrun, then re-raises the last error as it was."""
    limit = clock() + settings.window
    if deadline is not None:
        limit = min(limit, deadline)
    return Retrying(
        retry=retry_if_exception_type(TransientError),
        wait=_WaitRetryAfterOrBackoff(settings),
        stop=_StopPastLimit(limit, clock),
        sleep=sleep,
        reraise=True,
    )
