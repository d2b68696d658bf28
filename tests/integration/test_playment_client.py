"""The Playment client against the simulator on loopback."""

import socket
import time

import pytest

from playment_exporter.errors import (
    BATCH_NOT_FOUND,
    PROJECT_NOT_FOUND,
    PlaymentApiError,
    PlaymentAuthError,
    PlaymentUnreachable,
    TransientError,
)
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


def closed_port() -> int:
    """A loopback port where nothing listens (bound, then closed)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return int(listener.getsockname()[1])


def test_a_first_contact_where_nothing_listens_fails_at_once_naming_the_url() -> None:
    # Given a base URL where nothing listens
    url = f"http://127.0.0.1:{closed_port()}/v1"
    waits: list[float] = []
    client = PlaymentClient(url, "key", retry=FAST, sleep=waits.append)
    # When the run's first request is made
    with pytest.raises(PlaymentUnreachable) as raised:
        client.first_contact("p1")
    # Then it fails without a retry, naming the URL and why
    assert waits == []
    assert str(raised.value) == f"no Playment API answers at {url}: the connection was refused"


def test_later_in_a_run_the_same_refusal_is_retried() -> None:
    # Given the same URL, once the run has begun (any request but the first contact), and a
    # retry window of half a second
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    window = RetrySettings(window=0.5, initial_wait=0.05, max_wait=0.1)
    client = PlaymentClient(f"http://127.0.0.1:{closed_port()}/v1", "key", retry=window,
                            sleep=sleep)  # fmt: skip
    # When a job is fetched / Then the refusal is a transient error, retried until the window
    with pytest.raises(TransientError) as raised:
        client.get_job("p1", "j-0000")
    assert raised.value.code == "connection_error"
    assert len(waits) > 1


def test_a_first_contact_over_https_to_a_plain_http_server_fails_at_once(start_simulator) -> None:
    # Given the simulator (plain HTTP) asked for over https://
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))))
    url = simulator.api_url.replace("http://", "https://")
    waits: list[float] = []
    client = PlaymentClient(url, simulator.api_key, retry=FAST, sleep=waits.append)
    # When the run's first request is made / Then it fails at once, saying TLS failed
    with pytest.raises(PlaymentUnreachable) as raised:
        client.first_contact("p1")
    assert waits == []
    assert raised.value.api_url == url
    assert "TLS handshake failed" in raised.value.reason


def test_a_first_contact_reset_once_is_retried(start_simulator) -> None:
    # Given an API that resets the first connection for the project's details (a passing fault)
    faults = FaultPlan(scripted={("details", "p1"): ["reset"]})
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))), faults=faults)
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When the run's first request is made / Then it is tried again and answers
    assert [batch.id for batch in client.first_contact("p1").batches] == ["b1"]
    assert simulator.stats.requests["details"] == 2


def test_a_base_url_without_its_version_gets_a_hint(start_simulator) -> None:
    # Given the simulator's URL without /v1
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))))
    base = simulator.api_url.removesuffix("/v1")
    client = PlaymentClient(base, simulator.api_key, retry=FAST)
    # When the run's first request is made / Then the 404 says the URL probably lacks /v1
    with pytest.raises(PlaymentApiError) as raised:
        client.first_contact("p1")
    assert raised.value.status == 404
    assert raised.value.message == (
        f"No route for GET /projects/p1/details; the base URL {base} has no version: try {base}/v1"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda client: client.first_contact("nope"),
        lambda client: client.get_project_details("nope"),
        lambda client: client.list_batch_page("nope", "b1", ""),
    ],
)
def test_an_unknown_project_is_named_as_the_project(start_simulator, call) -> None:
    # Given a project the API does not know (its listing says "Batch not found")
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))))
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When it is asked for / Then the error names the project, as the project
    with pytest.raises(PlaymentApiError) as raised:
        call(client)
    assert raised.value.code == PROJECT_NOT_FOUND
    assert raised.value.message == "project 'nope' not found (Playment: Project not found)"


def test_an_unknown_batch_of_a_known_project_is_named_as_the_batch(start_simulator) -> None:
    # Given a project the API knows, without batch "b9"
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))))
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When b9's first page is asked for, twice
    for _ in range(2):
        with pytest.raises(PlaymentApiError) as raised:
            client.list_batch_page("p1", "b9", "")
        # Then the error names the batch and its project
        assert raised.value.code == BATCH_NOT_FOUND
        assert raised.value.message == (
            "batch 'b9' not found in project 'p1' (Playment: Batch not found)"
        )
    # And the project's details were asked once, to tell a batch from a project
    assert simulator.stats.requests["details"] == 1


def test_no_proxy_from_the_environment_sees_the_key_or_a_result(
    start_simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given proxy settings in the environment that point at a port nobody listens on
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    simulator = start_simulator(catalog_with(SimBatch("b1", jobs("j", 1))))
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When the client lists the batch, reads its job and downloads the result
    job = client.get_job("p1", client.list_batch_page("p1", "b1", "").jobs[0].id)
    assert job.result_url
    with client.open_result(job.result_url) as opened:
        body = opened.read()
    # Then every request went straight to the simulator (a proxy would have refused them all)
    assert body
