"""A base URL written with a trailing slash (``.../v1/``) is the same API: the client trims
the slashes off its end, and nothing else."""

import pytest

from playment_exporter.errors import PlaymentApiError
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.retry_policy import RetrySettings
from playment_simulator import Catalog, SimBatch, SimJob, SimProject

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)


def test_a_base_url_with_a_trailing_slash_reaches_the_api(start_simulator) -> None:
    # Given the simulator's API URL written with a trailing slash
    catalog = Catalog([SimProject(id="p1", batches=(SimBatch("b1", (SimJob(id="j-0"),)),))])
    simulator = start_simulator(catalog)
    client = PlaymentClient(simulator.api_url + "/", simulator.api_key, retry=FAST)
    # When the run's first request and a listing are made
    details = client.first_contact("p1")
    page = client.list_batch_page("p1", "b1", "")
    # Then both reached their endpoints (a doubled slash would be no route at all)
    assert [batch.id for batch in details.batches] == ["b1"]
    assert [job.id for job in page.jobs] == ["j-0"]
    assert simulator.stats.requests["details"] == 1
    assert simulator.stats.requests["list"] == 1


def test_only_slashes_are_trimmed_off_the_base_url(start_simulator) -> None:
    # Given a base URL whose path ends in a letter before its slash (here "X", one a careless
    # trim of more than slashes would take too), and no version
    simulator = start_simulator()
    base = simulator.api_url.removesuffix("/v1") + "/X"
    client = PlaymentClient(base + "/", simulator.api_key, retry=FAST)
    # When the run's first request is made
    with pytest.raises(PlaymentApiError) as raised:
        client.first_contact("p1")
    # Then the request went under /X, and the hint names the base URL as given, less its slash
    assert raised.value.status == 404
    assert raised.value.message == (
        "No route for GET /X/projects/p1/details; "
        f"the base URL {base} has no version: try {base}/v1"
    )
