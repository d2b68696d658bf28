"""A batch Playment does not know, in a project it knows, is raised as ``batch_not_found``
with the HTTP status Playment answered (its 400), as every error made from an answer is."""

import pytest

from playment_exporter.errors import BATCH_NOT_FOUND, PlaymentApiError
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.retry_policy import RetrySettings
from playment_simulator import Catalog, SimBatch, SimJob, SimProject

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)


def test_a_batch_not_found_carries_the_400_playment_answered(start_simulator) -> None:
    # Given a project the simulator knows, with batch "b1" only
    catalog = Catalog([SimProject(id="p1", batches=(SimBatch("b1", (SimJob(id="j1"),)),))])
    simulator = start_simulator(catalog)
    client = PlaymentClient(simulator.api_url, simulator.api_key, retry=FAST)
    # When the first page of batch "b9" is asked for
    with pytest.raises(PlaymentApiError) as raised:
        client.list_batch_page("p1", "b9", "")
    # Then the batch is not found, with the status of Playment's answer
    assert (raised.value.code, raised.value.status) == (BATCH_NOT_FOUND, 400)
