"""A batch part's jobs carried from an earlier step: counted in what the step has to deal
with, beside those it lists, and handed on as they came (those counted already still marked)
when the step's deadline leaves them unsettled again."""

from playment_exporter.api_models import COMPLETED, ListedJob
from playment_exporter.listing_chunk import BatchPart
from playment_exporter.run_records import UnsettledJobs


def test_carried_jobs_add_to_the_jobs_the_step_has_to_deal_with() -> None:
    # Given a batch part that has listed one completed job
    part = BatchPart("p1", "b1")
    part.add(ListedJob(id="listed", status=COMPLETED))
    # When two jobs an earlier step left unsettled are carried into it
    part.carry(UnsettledJobs(batch_id="b1", job_ids=["left-1", "left-2"]))
    # Then the step has all three to deal with
    assert part.requested == 3


def test_carried_jobs_left_unsettled_again_keep_those_counted_already() -> None:
    # Given a batch part carrying two jobs, one of them counted by an earlier step
    part = BatchPart("p1", "b1")
    part.carry(UnsettledJobs(batch_id="b1", job_ids=["a", "b"], counted_already=["b"]))
    # When the step's deadline comes before the pass reaches the batch
    part.leave_unsettled()
    # Then both are handed on, the one counted already still marked as such
    assert part.unsettled_jobs() == UnsettledJobs(
        batch_id="b1", job_ids=["a", "b"], counted_already=["b"]
    )
