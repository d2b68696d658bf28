"""A listing cursor moving to the next batch: the batch's own position (page token, jobs
listed, jobs to replay after a refused token, restarts) starts afresh; the execution's
numbers (chunk, manifest page, unsettled chunk) carry on."""

from playment_exporter.list_pages import ListingCursor

# Deep in batch 2 after a refused token: 120 jobs listed since, 300 counted before the
# restart, 2 restarts spent; the next step is chunk 5, its first page 40, chunk 4 unsettled.
DEEP_IN_A_BATCH = ListingCursor(
    batch_index=2,
    page_token="token-9",
    listed_in_batch=120,
    replay_until=300,
    restarts=2,
    chunk=5,
    next_page=40,
    unsettled_chunk=4,
)


def test_the_next_batch_is_listed_from_its_first_page_with_nothing_to_replay() -> None:
    # Given a cursor deep in a batch after a refused token
    # When it moves to the next batch
    moved = DEEP_IN_A_BATCH.next_batch()
    # Then that batch starts at its first page, no job of it listed or counted already,
    # with the whole budget of token restarts (none spent in it)
    assert moved.batch_index == 3
    assert moved.page_token == ""
    assert moved.listed_in_batch == 0
    assert moved.replay_until == 0
    assert moved.restarts == 0


def test_the_next_batch_keeps_the_executions_chunk_and_page_numbers() -> None:
    # Given a cursor deep in a batch, its chunk and page numbers the execution's
    # When it moves to the next batch
    moved = DEEP_IN_A_BATCH.next_batch()
    # Then the whole cursor is the next batch's start with those numbers kept, nothing else
    assert moved.model_dump() == {
        "batch_index": 3,
        "page_token": "",
        "listed_in_batch": 0,
        "replay_until": 0,
        "restarts": 0,
        "chunk": 5,
        "next_page": 40,
        "unsettled_chunk": 4,
    }
