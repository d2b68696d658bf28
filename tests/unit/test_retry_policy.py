from typing import Any

import pytest

from playment_exporter.errors import PlaymentApiError, TransientError
from playment_exporter.retry_policy import RetrySettings, retrying


class FakeTime:
    """A clock that only moves when the policy sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run(policy, failures: list[Any]) -> str:
    for attempt in policy:
        with attempt:
            if failures:
                raise failures.pop(0)
            return "ok"
    raise AssertionError("unreachable")


def test_retry_after_from_the_server_is_the_wait() -> None:
    # Given a policy and a call that is throttled once with Retry-After: 7
    time = FakeTime()
    policy = retrying(RetrySettings(), sleep=time.sleep, clock=time.clock)
    # When the call is retried
    result = run(policy, [TransientError("http_429", "slow down", retry_after=7.0)])
    # Then the policy waited exactly what the server asked, and the call succeeded
    assert result == "ok"
    assert time.sleeps == [7.0]


def test_backoff_grows_and_stays_bounded_without_retry_after() -> None:
    # Given transient failures with no Retry-After
    time = FakeTime()
    settings = RetrySettings(window=600, initial_wait=0.5, max_wait=4.0)
    policy = retrying(settings, sleep=time.sleep, clock=time.clock)
    # When the call fails six times and then succeeds
    run(policy, [TransientError("http_503", "busy") for _ in range(6)])
    # Then the waits grow from the initial wait and never pass max_wait plus jitter
    assert len(time.sleeps) == 6
    assert 0.5 <= time.sleeps[0] <= 1.0
    assert max(time.sleeps) <= 4.0 + 0.5
    assert time.sleeps[-1] > time.sleeps[0]


def test_stops_before_the_deadline_and_reraises_the_last_error() -> None:
    # Given a deadline 3 s away and a server that keeps saying Retry-After: 2
    time = FakeTime()
    policy = retrying(RetrySettings(), deadline=time.now + 3, sleep=time.sleep, clock=time.clock)
    failures = [TransientError("http_429", f"try {n}", retry_after=2.0) for n in range(10)]
    # When the call is retried
    with pytest.raises(TransientError) as raised:
        run(policy, failures)
    # Then it waited once (2 s fits, 4 s would not) and gave up with the last error
    assert time.sleeps == [2.0]
    assert raised.value.message == "try 1"


def test_permanent_errors_are_not_retried() -> None:
    # Given a permanent API error
    time = FakeTime()
    policy = retrying(RetrySettings(), sleep=time.sleep, clock=time.clock)
    # When the call fails with it / Then it is raised at once, with no wait
    with pytest.raises(PlaymentApiError):
        run(policy, [PlaymentApiError("FS_0004", "Job not found")])
    assert time.sleeps == []


def test_a_wait_that_would_end_at_the_deadline_is_not_made() -> None:
    # Given a deadline 3 s away and a server asking for exactly 3 s
    time = FakeTime()
    policy = retrying(RetrySettings(), deadline=time.now + 3, sleep=time.sleep, clock=time.clock)
    # When the call is throttled / Then it gives up at once: no time would be left to retry
    with pytest.raises(TransientError):
        run(policy, [TransientError("http_429", "slow down", retry_after=3.0)])
    assert time.sleeps == []


def test_the_window_bounds_retries_when_the_deadline_is_far() -> None:
    # Given a 5 s window, a deadline far away, and a server that keeps asking for 2 s
    time = FakeTime()
    settings = RetrySettings(window=5)
    policy = retrying(settings, deadline=time.now + 600, sleep=time.sleep, clock=time.clock)
    failures = [TransientError("http_429", f"try {n}", retry_after=2.0) for n in range(10)]
    # When the call is retried / Then it waited twice (4 s; a third wait would pass 5 s)
    with pytest.raises(TransientError):
        run(policy, failures)
    assert time.sleeps == [2.0, 2.0]
