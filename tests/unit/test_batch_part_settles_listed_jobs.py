"""A batch part settles from the listing alone the jobs it need not fetch: a job whose ID is
not a safe key fails, named by a bounded prefix of its ID, with the ID check's message; and a
job listed without saying otherwise is this step's to count."""

from playment_exporter.api_models import ListedJob
from playment_exporter.listing_chunk import BatchPart
from playment_exporter.outcomes import JobOutcome, JobStatus, SkipReason


def test_a_listed_job_with_an_unsafe_id_fails_named_by_its_first_200_characters() -> None:
    # Given a batch part and a listed job whose 300-character ID climbs out of its folder
    part = BatchPart("p1", "b1")
    unsafe_id = "../" * 100
    # When the step lists it for the first time
    part.add(ListedJob(id=unsafe_id, status="completed"), counted_already=False)
    # Then it fails as an invalid job ID, named by its first 200 characters, counted once
    [outcome] = part.settled
    assert (outcome.job_id, outcome.status, outcome.error_code) == (
        unsafe_id[:200],
        JobStatus.FAILED,
        "invalid_job_id",
    )
    assert part.listed == 1
    # And the message is the ID check's, naming the field and showing the ID's start
    assert outcome.message is not None
    assert outcome.message.startswith(f"job_id: {unsafe_id[:40] + '...'!r} is not a valid ID")
    # And nothing is planned for fetching
    assert part.candidates == []


def test_a_job_listed_without_saying_otherwise_is_counted_by_this_step() -> None:
    # Given a batch part
    part = BatchPart("p1", "b1")
    # When a job still being annotated is listed, not said to be counted by an earlier step
    part.add(ListedJob(id="in-progress", status="in_progress"))
    # Then this step settles it as not completed and counts it
    assert part.settled == [JobOutcome.skipped("in-progress", SkipReason.NOT_COMPLETED)]
    assert part.listed == 1
