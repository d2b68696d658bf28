"""A listing step's deadline, read on its clock: late from the deadline on, never without one."""

from datetime import UTC, datetime

from playment_exporter.list_pages import ListingOptions

STARTED = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_step_is_late_once_its_clock_reaches_the_deadline() -> None:
    # Given a step whose deadline is at 10 on its clock, which reads 10
    options = ListingOptions(
        max_concurrency=2, started_at=STARTED, deadline=10.0, clock=lambda: 10.0
    )
    # When it asks whether it is late / Then it is
    assert options.late()


def test_a_step_before_its_deadline_or_without_one_is_not_late() -> None:
    # Given a step whose clock reads 9 with a deadline at 10, and one with no deadline
    early = ListingOptions(max_concurrency=2, started_at=STARTED, deadline=10.0, clock=lambda: 9.0)
    unbounded = ListingOptions(max_concurrency=2, started_at=STARTED, clock=lambda: 1e12)
    # When each asks whether it is late / Then neither is
    assert not early.late()
    assert not unbounded.late()
