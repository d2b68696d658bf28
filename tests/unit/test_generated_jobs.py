"""Jobs the simulator makes from their position (``playment_simulator.jobs.GeneratedJobs``)."""

import pytest

from playment_simulator import Catalog, SimBatch, SimProject
from playment_simulator.jobs import GeneratedJobs


def test_a_generated_job_is_made_from_its_index_the_same_way_every_time() -> None:
    # Given a batch of 1,000 jobs, one in 100 completed
    jobs = GeneratedJobs("b1", 1_000, completed_every=100)
    # When jobs are taken by index, by slice and from the end
    first, hundredth, last = jobs[0], jobs[100], jobs[-1]
    page = jobs[95:105]
    # Then each says its index in its ID and reference, and only every hundredth is completed
    assert (first.id, first.reference_id, first.completed) == ("b1-0000000", "b1-ref-0000000", True)
    assert hundredth.completed
    assert hundredth.id == "b1-0000100"
    assert (last.id, last.status) == ("b1-0000999", "in_progress")
    assert [job.id for job in page] == [f"b1-{n:07d}" for n in range(95, 105)]
    assert [job.completed for job in page] == [n % 100 == 0 for n in range(95, 105)]
    assert jobs[500] == GeneratedJobs("b1", 1_000, completed_every=100)[500]
    assert len(jobs) == 1_000
    with pytest.raises(IndexError):
        jobs[1_000]


def test_the_completed_jobs_are_found_without_making_the_others() -> None:
    # Given a batch of ten million jobs, one in a million completed
    jobs = GeneratedJobs("big", 9_999_999, completed_every=1_000_000)
    # When its completed jobs are asked for / Then there are ten, at once
    assert [job.id for job in jobs.completed()] == [f"big-{n:07d}" for n in range(0, 10**7, 10**6)]
    assert list(GeneratedJobs("none", 50, completed_every=0).completed()) == []


@pytest.mark.parametrize(
    ("job_id", "index"),
    [("b1-0000042", 42), ("b1-0000999", 999), ("b1-0001000", None), ("b2-0000042", None),
     ("b1-42", None), ("b1-00000x2", None), ("b1-" + "\uff10" * 5 + "\uff14\uff12", None)],
)  # fmt: skip
def test_a_job_id_names_its_index_in_its_own_batch_only(job_id: str, index: int | None) -> None:
    # Given a batch of 1,000 generated jobs / When an ID is looked up / Then only its own are found
    assert GeneratedJobs("b1", 1_000).index_of(job_id) == index


def test_the_catalog_finds_a_generated_job_by_its_id_among_many_batches() -> None:
    # Given a project of batches whose IDs hold dashes, as UUIDs do, each of generated jobs
    batches = [GeneratedJobs(f"5f0c-{n:04d}-a1", 30, completed_every=3) for n in range(200)]
    catalog = Catalog([SimProject("p", tuple(SimBatch(b.batch_id, b) for b in batches))])
    # When jobs are looked up by ID
    found = catalog.job("p", "5f0c-0123-a1-0000021")
    # Then each is found in its batch, and IDs no batch made are not
    assert found is not None
    assert (found.batch_id, found.job.id, found.job.completed) == (
        "5f0c-0123-a1", "5f0c-0123-a1-0000021", True
    )  # fmt: skip
    assert catalog.job("p", "5f0c-0123-a1-0000030") is None
    assert catalog.job("p", "5f0c-9999-a1-0000001") is None
    assert catalog.job("other", "5f0c-0123-a1-0000021") is None
