"""urllib3 never retries a download by itself: a dropped one is the retry policy's to retry,
within the run's budget, and counted as it retries."""

import pytest

from playment_exporter.errors import TransientError
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.retry_policy import RetrySettings
from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)


def test_a_reset_download_raises_after_one_request(start_simulator) -> None:
    # Given storage that resets the connection of the job's first download
    catalog = Catalog([SimProject(id="p1", batches=(SimBatch("b1", (SimJob(id="j-0"),)),))])
    faults = FaultPlan(scripted={("storage", "j-0"): ["reset"]})
    simulator = start_simulator(catalog, faults=faults)
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    record = client.get_job("p1", "j-0")
    # When its result is opened
    with pytest.raises(TransientError) as raised, client.open_result(record.result_url):
        pass
    # Then the drop comes back as transient, after the one download storage saw
    assert raised.value.code == "connection_error"
    assert simulator.stats.faults["reset"] == 1
    assert simulator.stats.requests["storage"] == 1
