"""The Playment client against the simulator on loopback."""

import pytest

from playment_exporter.errors import PlaymentApiError, PlaymentAuthError
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.retry_policy import RetrySettings
from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)


def catalog_with(*batches: SimBatch) -> Catalog:
    return Catalog([SimProject(id="p1", batches=batches)])


def jobs(prefix: str, count: int) -> tuple[SimJob, ...]:
    return tuple(SimJob(id=f"{prefix}-{n:04d}") for n in range(count))


@pytest.mark.parametrize("style", ["absent", "null", "empty"])
def test_reads_pages_by_token_until_the_last_says_so(start_simulator, style) -> None:
    # Given a batch of 250 jobs whose last page signals its end in this style
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 250), style)))
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When the client reads page after page, each with the token the last one gave
    pages, token = [], ""
    while True:
        page = client.list_batch_page("p1", "b1", token)
        pages.append(page.jobs)
        if not page.next_page_token:
            break
        token = page.next_page_token
    # Then the third page says it is the last, and every job came once, in three requests
    assert [len(jobs) for jobs in pages] == [100, 100, 50]
    assert [job.id for jobs in pages for job in jobs] == [f"j-{n:04d}" for n in range(250)]
    assert simulator.stats.requests["list"] == 3


def test_an_empty_batch_is_one_page_of_nothing(start_simulator) -> None:
    # Given a batch with no jobs
    simulator = start_simulator(catalog_with(SimBatch("b1", (), "null")))
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When its first page is read / Then it has no jobs and no next token
    page = client.list_batch_page("p1", "b1", "")
    assert (page.jobs, page.next_page_token) == ([], None)


@pytest.mark.parametrize("status", [302, 307])
def test_resolves_either_redirect_and_never_sends_the_key_to_storage(
    start_simulator, status
) -> None:
    # Given an attachment endpoint that redirects with this status
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 3))), redirect_status=status)
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When each job's result is opened and read
    for job_id in ("j-0000", "j-0001", "j-0002"):
        record = client.get_job("p1", job_id)
        with client.open_result(record.result_url) as body:
            data = body.read()
        # Then the bytes are the simulator's, exactly
        assert data == b"".join(simulator.catalog.body_chunks("p1", job_id))
    # And storage saw three downloads and not one carried the key
    assert simulator.stats.requests["storage"] == 3
    assert simulator.stats.key_leaks == 0


def test_a_wrong_key_fails_fast_with_a_clear_message(start_simulator) -> None:
    # Given a client holding a key the API refuses
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 3))))
    client = PlaymentClient(simulator.api_url, "wrong-key-value", retry=FAST)
    # When it asks for a job
    with pytest.raises(PlaymentAuthError) as raised:
        client.get_job("p1", "j-0000")
    # Then one request was made (no retries), and the message says what to check, without the key
    assert sum(simulator.stats.requests.values()) == 1
    assert "rejected the API key" in str(raised.value)
    assert "wrong-key-value" not in str(raised.value)


def test_retry_after_is_honoured(start_simulator) -> None:
    # Given a job endpoint that answers 429 with Retry-After: 1 once
    faults = FaultPlan(scripted={("job", "j-0000"): ["429_retry_after"]})
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))), faults=faults)
    waits: list[float] = []
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST, sleep=waits.append)
    # When the job is fetched
    record = client.get_job("p1", "j-0000")
    # Then the client waited the server's second, not its own backoff, and succeeded
    assert record.is_completed
    assert waits == [1.0]
    assert simulator.stats.requests["job"] == 2


@pytest.mark.parametrize("fault", ["429", "500", "503", "400_FS_0000", "reset"])
def test_transient_api_faults_are_retried(start_simulator, fault) -> None:
    # Given a job endpoint that fails once with this fault
    faults = FaultPlan(scripted={("job", "j-0000"): [fault]})
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))), faults=faults)
    waits: list[float] = []
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST, sleep=waits.append)
    # When the job is fetched
    record = client.get_job("p1", "j-0000")
    # Then the second try answered, after one backoff wait
    assert record.is_completed
    assert simulator.stats.faults[fault] == 1
    assert len(waits) == 1


def test_a_request_error_is_not_retried(start_simulator) -> None:
    # Given a job that does not exist (a 400 with a request error code)
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))))
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When it is fetched / Then the API's error comes back at once
    with pytest.raises(PlaymentApiError) as raised:
        client.get_job("p1", "no-such-job")
    assert raised.value.status == 400
    assert simulator.stats.requests["job"] == 1
